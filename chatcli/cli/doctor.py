"""``chatcli doctor``: what chatcli runs on and whether the default model loads."""

import json
import platform
import stat
import time
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer

from chatcli import __version__, paths
from chatcli.cli.errors import say, user_errors
from chatcli.config import Settings, load_settings
from chatcli.errors import ChatcliError


def doctor(
    json_output: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    no_load: Annotated[
        bool, typer.Option("--no-load", help="Do not load the default model.")
    ] = False,
) -> None:
    """Versions, GPU support, CPU, folders, the default model (loaded) and the KV cache."""
    with user_errors():
        settings = load_settings()
        report = collect(settings, load=not no_load)
        if json_output:
            print(json.dumps(report))
        else:
            _print(report)
        for problem in report["problems"]:
            say(f"problem: {problem}")
        raise typer.Exit(1 if report["problems"] else 0)


def collect(settings: Settings, load: bool = True) -> dict[str, Any]:
    """Everything doctor reports, as one JSON-ready dictionary."""
    from chatcli.engine.hardware import physical_cores
    from chatcli.engine.llama_system import build_info

    build = build_info()
    llama = settings.backend_values("llama")
    threads = llama.get("threads")
    report: dict[str, Any] = {
        "chatcli": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "llama_cpp": {
            "version": build.version,
            "gpu_offload": build.gpu_offload,
            "backend": build.backend,
            "backends": list(build.backends),
            "cpu_features": list(build.cpu_features),
        },
        "cpu": {
            "physical_cores": physical_cores(),
            "threads": threads or physical_cores(),
            "threads_from": "config" if threads else "the free physical cores",
        },
        "dirs": {name: _folder(path) for name, path in _folders().items()},
        "model": _model(settings, load),
        "kv_cache": _kv_cache(float(llama.get("kv_cache_gib", 2.0))),
    }
    report["problems"] = _problems(report)
    return report


def _folders() -> dict[str, Path]:
    return {"config": paths.config_dir(), "data": paths.data_dir(), "cache": paths.cache_dir()}


def _folder(path: Path) -> dict[str, Any]:
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return {"path": str(path), "exists": False, "mode": None, "private": None}
    return {"path": str(path), "exists": True, "mode": f"{mode:04o}", "private": not mode & 0o077}


def _model(settings: Settings, load: bool) -> dict[str, Any]:
    from chatcli.assembly import build_engine
    from chatcli.catalog import model_ref

    facts: dict[str, Any] = {"name": settings.model or "(the catalog's default)"}
    try:
        ref = model_ref(settings.model)
        facts.update(name=ref.name, backend=ref.backend, location=ref.location)
        if ref.backend == "llama":
            facts["present"] = Path(ref.location).is_file()
        if not load:
            return facts
        started = time.perf_counter()
        engine = build_engine(replace(settings, verbose=False), snapshots=False)
        try:
            info = engine.load()
            facts.update(
                loaded=True,
                load_s=round(time.perf_counter() - started, 3),
                gpu_layers=info.gpu_layers,
                layers=int(info.extras.get("layers", "0")) or None,
                context_length=info.context_length,
                chat_format=info.chat_format,
            )
        finally:
            engine.close()
    except ChatcliError as error:
        facts.update(loaded=False, error=error.message)
    return facts


def _kv_cache(cap_gib: float) -> dict[str, Any]:
    folder = paths.cache_dir() / "kv"
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return {
        "path": str(folder),
        "files": len(files),
        "bytes": sum(p.stat().st_size for p in files),
        "cap_bytes": int(cap_gib * (1 << 30)),
    }


def _problems(report: dict[str, Any]) -> list[str]:
    problems = [
        f"{name} folder {folder['path']} is readable by others ({folder['mode']})"
        for name, folder in report["dirs"].items()
        if folder["exists"] and not folder["private"]
    ]
    model = report["model"]
    if model.get("loaded") is False:
        problems.append(f"the default model does not load: {model['error']}")
    elif model.get("present") is False:
        problems.append(f"the default model's file is missing: {model.get('location')}")
    return problems


def _print(report: dict[str, Any]) -> None:
    llama, cpu, model, kv = report["llama_cpp"], report["cpu"], report["model"], report["kv_cache"]
    gpu = f"yes ({llama['backend']})" if llama["gpu_offload"] else "no (CPU-only build)"
    print(f"chatcli          {report['chatcli']} (Python {report['python']})")
    print(f"platform         {report['platform']}")
    print(f"llama-cpp-python {llama['version']}; GPU offload: {gpu}")
    print(f"backends         {', '.join(llama['backends']) or 'unknown'}")
    print(f"CPU features     {' '.join(llama['cpu_features']) or 'unknown'}")
    print(f"CPU              {cpu['physical_cores']} physical cores; {cpu['threads']} threads")
    for name, folder in report["dirs"].items():
        state = f"mode {folder['mode']}" if folder["exists"] else "not created yet"
        print(f"{name + ' dir':<16} {folder['path']} ({state})")
    print(f"default model    {model['name']}: {model.get('location', '')}")
    if model.get("loaded"):
        layers = f"{model['gpu_layers']}/{model['layers']}" if model["layers"] else "?"
        print(
            f"                 loads in {model['load_s']:.2f} s; {layers} layers on the GPU; "
            f"context {model['context_length']:,}"
        )
    elif "error" in model:
        print(f"                 does not load: {model['error']}")
    print(
        f"KV cache         {kv['path']}: {kv['files']} files, {kv['bytes'] / 1e6:,.1f} MB "
        f"of {kv['cap_bytes'] / (1 << 30):g} GiB"
    )
