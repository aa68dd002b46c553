"""``eval``: the group that holds the evaluation commands (``eval recon``, ``eval flow`` ...).

Each stage's CLI module adds its own subcommand to this group.
"""

from __future__ import annotations

import click


def register(group: click.Group) -> None:
    @group.group(name="eval")
    def eval_group():
        """Evaluate methods against ground truth (PSNR/SSIM, AEE/PO%)."""
