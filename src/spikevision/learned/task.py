"""What a task supplies to the fit loop: its models, samples, loss and validation (nothing else).

A task is a small object (one per file in :mod:`spikevision.learned.tasks`); the
loop (:func:`spikevision.learned.fit.fit`) does seeding, devices, processes,
schedule, checkpoints, logging, budget and weight averaging for all of them.
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = ["Task"]


class Task:
    """Base of the training tasks; subclasses fill in the ``NotImplemented`` parts.

    ``models`` is a dict ``key -> torch.nn.Module`` (one network for most tasks; comm
    trains two codes on the same batches). Scores from :meth:`scores` are "higher is
    better", one per model key, and pick each model's ``best`` checkpoint.
    """

    #: name of the task (``spikevision train NAME``; the ``task`` of its checkpoints)
    name: ClassVar[str] = ""
    #: frozen dataclass of the task's own config keys
    settings_type: ClassVar[type] = object
    #: model names this task's checkpoints may hold
    model_names: ClassVar[tuple[str, ...]] = ()
    #: store exported weights as float16
    export_half: ClassVar[bool] = False
    #: folder kinds (besides "synthetic") this task trains from
    folder_kinds: ClassVar[tuple[str, ...]] = ()
    #: name checkpoint files by model key (``best_<key>.pt``) even for one model
    named_files: ClassVar[bool] = False

    def build_models(self, cfg: Any) -> dict[str, Any]:
        """Fresh networks (the loop seeds torch before calling)."""
        raise NotImplementedError

    def model_record(self, cfg: Any, key: str, model: Any) -> tuple[str, dict]:
        """``(model name, model_args)`` stored with the weights of ``models[key]``, enough to rebuild it."""
        raise NotImplementedError

    def source(self, spec: Any, cfg: Any) -> Any:
        """A :class:`~spikevision.learned.data.Source` for one entry of ``cfg.sources``."""
        raise NotImplementedError

    def collate(self, items: list) -> Any:
        """Stack samples (tuples of numpy arrays) into a batch: a tuple of CPU tensors, batch first."""
        import numpy as np
        import torch

        return tuple(torch.from_numpy(np.stack(x)) for x in zip(*items))

    @staticmethod
    def psnr(img: Any, gt: Any) -> float:
        """PSNR (dB, data range 1) of an image clipped to [0, 1] against its GT: the validation score of images."""
        import numpy as np

        from ..metrics import psnr

        return psnr(np.clip(img, 0, 1), gt, data_range=1.0)

    def loss(self, models: dict[str, Any], batch: Any, *, device: Any, cfg: Any, iteration: int,
             rank: int) -> dict[str, Any]:
        """Loss tensor per model key (each is minimised by its model's optimiser)."""
        raise NotImplementedError

    def validation_data(self, cfg: Any) -> Any:
        """Fixed held-out data, made once per run (never used for training)."""
        raise NotImplementedError

    def validate(self, models: dict[str, Any], data: Any, *, device: Any, cfg: Any) -> dict[str, Any]:
        """Validation metrics (JSON-able) of the models in eval mode."""
        raise NotImplementedError

    def scores(self, metrics: dict[str, Any]) -> dict[str, float]:
        """Higher-is-better score per model key from :meth:`validate`'s metrics."""
        raise NotImplementedError

    def init_weights(self, models: dict[str, Any], checkpoints: dict[str, Any], cfg: Any) -> None:
        """Start ``models`` from loaded :class:`~spikevision.learned.checkpoint.Checkpoint` s (fine-tuning).

        Default: every entry must be present and fit (strict load)."""
        from .checkpoint import CheckpointError

        for k, ck in checkpoints.items():
            try:
                models[k].load_state_dict({n: v.float() if v.is_floating_point() else v for n, v in ck.state.items()})
            except RuntimeError as exc:
                raise CheckpointError(f"init weights {ck.path} do not fit the model {k!r}: {exc}") from exc

    def ddp_find_unused(self, cfg: Any) -> bool:
        """Whether DDP must look for parameters a step leaves unused (slower; needed when some can be)."""
        return True

    def export_meta(self, cfg: Any) -> dict:
        """Entries added to the checkpoint's ``meta`` by ``--export`` (e.g. flow's ``dts``)."""
        return {}
