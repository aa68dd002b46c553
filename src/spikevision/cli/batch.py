"""``batch``: run any per-recording command over many inputs (Dask, local or a cluster).

The job's options are not declared here: every token that is not one of
``batch``'s own options or an input is passed unchanged to the job's command,
whose own click parser checks and reads them (once on the driver, before any
worker starts, and again for each input on the workers). The only thing taken
from the job's command is its declaration: which options take a value (to tell
``--sensor vidar`` from an input), whether it has ``-o`` (else a second
positional argument, else stdout is the output), ``--json`` and ``--quiet``.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import click

#: Output suffix of each command when ``--suffix`` is not given (commands not listed need it).
DEFAULT_SUFFIX = {"reconstruct": ".npy", "export-spikes": ".mp4", "flow": ".flo", "convert": ".h5",
                  "simulate": ".dat"}


@dataclass(frozen=True)
class CommandJob:
    """Runs ``spikevision COMMAND SRC ARGS... -o DST`` in the calling (worker) process.

    ``output`` is the option that names the output (``"-o"``), ``""`` when the command takes
    it as a second positional argument, or ``None`` when the command prints its result (then
    stdout, JSON with ``json_flag``, is the output). With ``json_flag`` the command's JSON is
    returned as the input's record.
    """

    command: str
    args: tuple[str, ...]
    output: str | None
    json_flag: str | None
    quiet_flag: str | None

    def argv(self, src: Path | str, dst: Path | str) -> list[str]:
        argv = [self.command, str(src)]
        if self.output == "":
            argv.append(str(dst))
        argv += list(self.args)
        if self.output:
            argv += [self.output, str(dst)]
        argv += [f for f in (self.json_flag, self.quiet_flag) if f]
        return argv

    def __call__(self, src: Path, dst: Path) -> dict | None:
        from .main import cli

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                cli.main(args=self.argv(src, dst), prog_name="spikevision", standalone_mode=False)
            except click.ClickException as exc:
                raise click.ClickException(exc.format_message()) from None
        text = out.getvalue()
        if self.json_flag:
            try:
                record = json.loads(text)
            except ValueError:
                raise ValueError(f"`spikevision {self.command} {self.json_flag}` printed no JSON: {text[:200]!r}") from None
            return record if isinstance(record, dict) else {"result": record}
        if self.output is None:
            dst.write_text(text)
        return None


def _value_counts(cmd: click.Command) -> dict[str, int]:
    counts = {}
    for p in cmd.params:
        if isinstance(p, click.Option):
            n = 0 if (p.is_flag or p.count) else p.nargs
            for o in (*p.opts, *p.secondary_opts):
                counts[o] = n
    return counts


def split_tokens(cmd: click.Command, tokens: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """``(inputs, job_args)`` from the tokens ``batch`` did not parse, using ``cmd``'s options."""
    counts = _value_counts(cmd)
    inputs: list[str] = []
    args: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "--":
            inputs += tokens[i + 1:]
            break
        if tok.startswith("-") and len(tok) > 1:
            name, eq, _ = tok.partition("=")
            if name in counts:
                n = 0 if eq else counts[name]
                if i + n >= len(tokens):
                    raise click.UsageError(f"option {name} of {cmd.name} needs a value")
                args += tokens[i:i + 1 + n]
                i += 1 + n
                continue
            if not tok.startswith("--") and tok[:2] in counts and counts[tok[:2]] > 0:  # -H250
                args.append(tok)
                i += 1
                continue
            raise click.UsageError(f"`spikevision {cmd.name}` has no option {name} "
                                   f"(see spikevision {cmd.name} --help, and spikevision batch --help)")
        inputs.append(tok)
        i += 1
    return inputs, args


def job_command(group: click.Group, name: str) -> click.Command:
    """The command ``name`` of ``group`` if it can be a batch job (its first argument is one input)."""
    cmd = group.commands.get(name)
    if cmd is None or isinstance(cmd, click.Group) or name == "batch":
        jobs = sorted(n for n, c in group.commands.items() if _takes_input(c) and n != "batch")
        raise click.UsageError(f"unknown job {name!r}; choose one of {', '.join(jobs)}")
    if not _takes_input(cmd):
        raise click.UsageError(f"`spikevision {name}` does not take an input file as its first argument")
    return cmd


def command_job(cmd: click.Command, args: list[str], *, suffix: str | None,
                sample: str | None) -> tuple[CommandJob, str]:
    """The :class:`CommandJob` of ``cmd`` with ``args`` and its output suffix; checks ``args`` with the
    command's own parser on ``sample`` (the first input) before anything runs."""
    name = cmd.name
    positional = [p for p in cmd.params if isinstance(p, click.Argument)]
    counts = _value_counts(cmd)
    output = "-o" if "-o" in counts else ("" if len(positional) >= 2 else None)
    json_flag = "--json" if counts.get("--json") == 0 else None
    quiet_flag = "--quiet" if counts.get("--quiet") == 0 else None
    if suffix is None:
        suffix = DEFAULT_SUFFIX.get(name) if output is not None else (".json" if json_flag else ".txt")
        if suffix is None:
            raise click.UsageError(f"give --suffix: the file type of `{name}`'s output (e.g. .npy)")
    elif not suffix.startswith("."):
        suffix = "." + suffix
    if output is None and suffix != (".json" if json_flag else ".txt"):
        raise click.UsageError(f"`{name}` prints its result: its output is {'.json' if json_flag else '.txt'}")
    job = CommandJob(name, tuple(args), output, json_flag, quiet_flag)
    if sample is not None:
        probe = job.argv(sample, "probe" + suffix)
        try:
            ctx = cmd.make_context(name, probe[1:], resilient_parsing=False)
            ctx.close()
        except click.BadParameter as exc:
            if exc.param is None or exc.param is not positional[0]:
                raise click.UsageError(f"{name}: {exc.format_message()}") from None
        except click.UsageError as exc:
            raise click.UsageError(f"{name}: {exc.format_message()}") from None
    return job, suffix


def _takes_input(cmd: click.Command) -> bool:
    params = [p for p in cmd.params if isinstance(p, click.Argument)]
    return bool(params) and params[0].nargs == 1 and not isinstance(cmd, click.Group)


def _print_summary(rows: list[dict], *, job: str, out: Path, seconds: float, workers: str) -> None:
    from ..batch import summarize

    c = summarize(rows)
    ran = c["ok"] + c["error"] - sum(1 for r in rows if r["status"] == "error" and r.get("started") is None)
    rate = f"  ({ran / seconds:.2f} inputs/s)" if seconds > 0 and ran else ""
    click.echo(f"batch {job}: {len(rows)} inputs -> {out}  [{workers}]")
    click.echo(f"  {'ok':<8}{c['ok']:>6}")
    click.echo(f"  {'error':<8}{c['error']:>6}")
    click.echo(f"  {'skipped':<8}{c['skipped']:>6}")
    click.echo(f"  {'time':<8}{seconds:>6.1f} s{rate}")
    errors = [r for r in rows if r["status"] == "error"]
    if errors:
        click.echo("errors:")
        for r in errors[:20]:
            click.echo(f"  {r['input']}: {r['error']}")
        if len(errors) > 20:
            click.echo(f"  ... {len(errors) - 20} more in {out / 'manifest.jsonl'}")


def register(group: click.Group) -> None:
    @group.command(name="batch", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": True})
    @click.argument("job_name", metavar="JOB")
    @click.argument("tokens", metavar="INPUTS... [JOB OPTIONS]", nargs=-1, type=click.UNPROCESSED)
    @click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False),
                  help="Output folder: outputs mirror the input names; manifest.jsonl; JOB.csv for tables.")
    @click.option("--workers", type=click.IntRange(min=1), default=None,
                  help="Local worker processes (default: one per core).")
    @click.option("--address", default=None,
                  help="Join a running Dask cluster: tcp://HOST:PORT or a scheduler file (workers must share "
                       "the filesystem).")
    @click.option("--gpus", default="0", show_default=True,
                  help="N or auto: one worker per GPU (each sees only its own), tasks ask for GPU=1.")
    @click.option("--threads-per-worker", type=click.IntRange(min=1), default=None,
                  help="Numerical threads of each local worker (default: cores / workers).")
    @click.option("--suffix", default=None, help="Output file type, e.g. .mp4 (default per job: "
                  + ", ".join(f"{k} {v}" for k, v in DEFAULT_SUFFIX.items()) + ").")
    @click.option("--retry-errors", is_flag=True, help="Run again the inputs that failed in an earlier run.")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    @click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
    @click.pass_context
    def batch_cmd(ctx, job_name, tokens, out_dir, workers, address, gpus, threads_per_worker, suffix, retry_errors,
                  as_json, quiet):
        """Run the per-recording command JOB on every input, in parallel, resumably.

        INPUTS are globs (quote them), folders, or list files (.txt/.list/.jsonl or @FILE, one
        path per line). Every other option is JOB's own and is passed to it unchanged; -o,
        --json and --quiet are batch's. A rerun skips inputs already done; exit status 1 when
        an input failed.

        \b
        spikevision batch info 'rec/*.dat' --sensor vidar -o out
        spikevision batch reconstruct rec/ --sensor vidar --method tfp --every 10 -o out --workers 2
        spikevision batch reconstruct rec/ --sensor vidar --method tfp --every 10 -o out \\
            --address tcp://head:8786
        """
        import time

        from ..batch import Job, find_inputs, run, summarize

        if address is not None and workers is not None:
            raise click.UsageError("--workers sizes a local cluster; with --address the cluster's workers are used")
        if gpus != "auto":
            try:
                gpus = int(gpus)
            except ValueError:
                raise click.BadParameter(f"expected a number or 'auto', got {gpus!r}", param_hint="--gpus") from None
        cmd = job_command(ctx.parent.command, job_name)
        inputs, args = split_tokens(cmd, tokens)
        if not inputs:
            raise click.UsageError("no INPUTS: give globs, folders or list files")
        found = find_inputs(inputs, exclude=out_dir)
        sample = next((str(f.path) for f in found if f.path.is_file()), None)
        cmd_job, suffix = command_job(cmd, args, suffix=suffix, sample=sample)
        job = Job(job_name, cmd_job, suffix, key=" ".join([job_name, *args, "->", suffix]))
        where = f"cluster {address}" if address else f"local cluster, {workers or 'one worker per core'}"
        if workers:
            where += " worker" + ("s" if workers > 1 else "")
        t0 = time.perf_counter()
        try:
            rows = run(job, inputs, out_dir, workers=workers, address=address, gpus=gpus,
                       threads_per_worker=threads_per_worker, retry_errors=retry_errors,
                       progress=not (quiet or as_json))
        except KeyboardInterrupt:
            click.echo(f"\ninterrupted: finished inputs are in {Path(out_dir) / 'manifest.jsonl'}; "
                       "run the same command again to resume", err=True)
            raise
        seconds = time.perf_counter() - t0
        out = Path(out_dir)
        table = out / f"{job_name}.csv"
        if as_json:
            click.echo(json.dumps({"job": job_name, "args": args, "out": str(out), "inputs": len(rows),
                                   "counts": summarize(rows), "seconds": round(seconds, 3),
                                   "manifest": str(out / "manifest.jsonl"),
                                   "table": str(table) if table.is_file() else None,
                                   "errors": [{"input": r["input"], "error": r["error"]}
                                              for r in rows if r["status"] == "error"]}))
        else:
            _print_summary(rows, job=job_name, out=out, seconds=seconds, workers=where)
            if table.is_file():
                click.echo(f"table: {table}")
        if any(r["status"] == "error" for r in rows):
            sys.exit(1)
