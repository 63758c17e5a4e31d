"""The record commands: add, claim, assess, verdict, show, list, export, import.

Exit codes and error lines are checked exactly, and every refusal is checked
to leave the index as it was.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from vidprov import samples
from vidprov.cli import main
from vidprov.fingerprint import INDEX_MIN_FRAMES, index_sampling
from vidprov.index import open_index
from vidprov.records import DATE_SYNTAX, Clip, RecordBundle, from_json, to_json

#: Frames the index holds of the 9-s, 25-fps footage: more than two a second, being short.
FOOTAGE_FRAMES = len(index_sampling(9.0).select([n / 25 for n in range(9 * 25)]))
assert FOOTAGE_FRAMES >= INDEX_MIN_FRAMES

ROOT = Path(__file__).resolve().parent.parent
RECORD_COMMANDS = ("add", "claim", "assess", "verdict", "show", "list", "export", "import")
SHA_ONE = "abcdef" + "1" * 58
SHA_TWO = "abcdef" + "2" * 58

CSCIS = ("--publisher", "CSCIS", "--platform", "x", "--handle", "@cscis_example",
         "--url", "https://x.com/cscis_example/status/1", "--posted-at", "2024-10-18",
         "--claimed-date", "2024-10-15/2024-10-18", "--claimed-place", "Sergeevka training ground",
         "--claimed-coords", "44.34,131.66", "--radius-m", "5000",
         "--claim-text", "Troops being issued equipment at Sergeevka")


def run(*args: str, index: Path | None = None) -> Result:
    extra = ["--index", str(index)] if index is not None else []
    return CliRunner().invoke(main, [*args, *extra])


def snapshot(index: Path) -> tuple[int, dict[str, Any]]:
    with open_index(index) as opened:
        return opened.count_clips(), opened.records().to_dict()


@pytest.fixture(scope="module")
def base_index(tmp_path_factory: pytest.TempPathFactory, footage: tuple[Path, samples.ClipSpec]) -> Path:
    """Clip 1 (the footage, posted by CSCIS) and clips 2 and 3, records only, whose sha256s share 'abcdef'."""
    path = tmp_path_factory.mktemp("index") / "base.db"
    result = run("add", str(footage[0]), *CSCIS, index=path)
    assert result.exit_code == 0, result.output
    bundle = RecordBundle(clips=(Clip(sha256=SHA_ONE, size=10, media_type="video/mp4"),
                                 Clip(sha256=SHA_TWO, size=20, media_type="video/mp4")))
    export = path.parent / "crafted.json"
    export.write_text(to_json(bundle), encoding="utf-8")
    assert run("import", str(export), index=path).exit_code == 0
    return path


@pytest.fixture
def index(tmp_path: Path, base_index: Path) -> Path:
    copy = tmp_path / "desk.db"
    shutil.copyfile(base_index, copy)
    return copy


# ------------------------------------------------------------------ add


def test_add_prints_what_it_stored_and_knows_a_clip_again(tmp_path: Path,
                                                          footage: tuple[Path, samples.ClipSpec]) -> None:
    path, _ = footage
    index = tmp_path / "new.db"
    result = run("add", str(path), *CSCIS, index=index)
    assert result.exit_code == 0 and result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0] == f"added clip 1 from {path}"
    assert re.fullmatch(r"  sha256       [0-9a-f]{64}", lines[1])
    assert re.fullmatch(r"  file         video/mp4, [0-9,]+ bytes, 9\.00 s", lines[2])
    assert lines[3] == f"  fingerprint  pdq, {FOOTAGE_FRAMES} frames hashed"
    assert re.fullmatch(r"  appearance   [0-9a-f]{32}  CSCIS on x, posted 2024-10-18  \(new\)", lines[4])
    assert re.fullmatch(r'  claim        [0-9a-f]{32}  "Troops being issued equipment at Sergeevka"; '
                        r"date 2024-10-15/2024-10-18; place Sergeevka training ground, 44\.34,131\.66 "
                        r"\(±5000 m\)  \(new\)", lines[5])

    again = run("add", str(path), *CSCIS, index=index)
    assert again.exit_code == 0
    assert again.stdout.splitlines()[0] == f"{path} is already indexed as clip 1"
    assert again.stdout.count("(already recorded)") == 2 and "fingerprint" not in again.stdout

    relay = run("add", str(path), "--publisher", "Ukrainska Pravda", "--url", "https://www.pravda.com.ua/news/1",
                "--posted-at", "2024-10-18T10:05+03:00", "--claimed-date", "max-age:3d", "--json", index=index)
    data = json.loads(relay.stdout)
    assert data["created"] is False and data["clip_id"] == 1 and data["frames_hashed"] is None
    assert data["appearance"]["created"] is True and data["appearance"]["record"]["platform"] == "web"
    (claim,) = data["claims"]
    assert claim["created"] is True
    assert claim["record"]["date"]["edtf"] == "2024-10-15T10:05+03:00/2024-10-18T10:05+03:00"
    assert claim["record"]["date"]["derivation"]["anchor"]["value"] == "2024-10-18T10:05:00+03:00"
    count, records = snapshot(index)
    assert count == 1 and len(records["appearances"]) == 2 and len(records["claims"]) == 2


def test_add_reads_a_ytdlp_info_json(tmp_path: Path, footage: tuple[Path, samples.ClipSpec]) -> None:
    info = ROOT / "tests" / "fixtures" / "ytdlp" / "telegram_post.info.json"
    result = run("add", str(footage[0]), "--info-json", str(info), "--claimed-date", "max-age:12h", "--json",
                 index=tmp_path / "new.db")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    appearance = data["appearance"]["record"]
    assert (appearance["platform"], appearance["handle"]) == ("telegram", "example_channel")
    assert data["clip"]["source_url"] == appearance["url"]
    assert data["claims"][0]["record"]["date"]["edtf"] == "2024-10-15T02:06:43Z/2024-10-15T14:06:43Z"


# ------------------------------------------------------------ bad input

BAD_INPUT = [
    (("add", "{clip}", "--claimed-coords", "95,131.66"),
     "lat: 95.0 is not allowed; expected a number from -90 to 90"),
    (("add", "{clip}", "--claimed-coords", "44.34,181"),
     "lon: 181.0 is not allowed; expected a number from -180 to 180"),
    (("add", "{clip}", "--claimed-coords", "44.34,131.66", "--radius-m", "-5"),
     "radius_m: -5.0 is not allowed; expected a number of at least 0"),
    (("add", "{clip}", "--radius-m", "5"),
     "radius_m: 5.0 is not allowed; expected a radius together with coordinates ('lat,lon')"),
    (("add", "{clip}", "--posted-at", "2024-10-18", "--claimed-date", "2024-10-18/2024-10-15"),
     "claim.date: '2024-10-18/2024-10-15' is not allowed; expected an interval whose earliest time is not "
     "after its latest"),
    (("add", "{clip}", "--platform", "myspace"),
     "appearance.platform: 'myspace' is not allowed; expected one of: x, telegram, youtube, tiktok, facebook, "
     "instagram, web, other"),
    (("add", "{clip}", "--posted-at", "yesterday"),
     "appearance.posted_at: 'yesterday' is not allowed; expected YYYY, YYYY-MM, YYYY-MM-DD or an ISO 8601 "
     "datetime such as 2024-10-15T08:00Z"),
    (("add", "{clip}", "--claimed-date", "last week"), f"claim.date: 'last week' is not allowed; expected {DATE_SYNTAX}"),
    (("add", "{clip}", "--claimed-date", "max-age:3d"),
     "claim.date: 'max-age:3d' is not allowed; expected max-age together with the appearance's posted_at "
     "(the interval is anchored on it)"),
    (("add", "{clip}", "--info-json", "{list_json}"), "{list_json}: not a yt-dlp .info.json: expected a JSON object, got list"),
    (("add", "{clip}", "--info-json", "{bad_json}"), "{bad_json}: not a yt-dlp .info.json: not valid JSON ("),
    (("verdict", "1", "--status", "fake", "--reviewer", "Desk editor"),
     "verdict.status: 'fake' is not allowed; expected one of: unverified, verified, disputed, false, "
     "misattributed, recycled"),
    (("assess", "1", "--kind", "guess", "--by", "TV team", "--result", "x"),
     "assessment.kind: 'guess' is not allowed; expected one of: geolocation, chronolocation, source_check, other"),
    (("assess", "1", "abcdef", "--kind", "geolocation", "--by", "TV team", "--result", "Sergeevka"),
     "abcdef: matches 2 clips (clip 2 abcdef111111, clip 3 abcdef222222); give more digits of the sha256"),
    (("claim", "abcdef", "--text", "Filmed at Sergeevka"),
     "abcdef: matches 2 clips (clip 2 abcdef111111, clip 3 abcdef222222); give more digits of the sha256"),
    (("claim", "1", "--appearance", "zz", "--text", "Filmed at Sergeevka"),
     "appearance zz: not an appearance of this clip (its appearances: "),
    (("claim", "1", "--claimant", "Nobody"),
     "claim.text: None is not allowed; expected claim text, a date or a place (at least one)"),
    (("claim", "9", "--text", "x"), "9: no clip has this id or sha256 prefix, and there is no such file"),
    (("verdict", "{other}", "--status", "verified", "--reviewer", "Desk editor"),
     "{other}: this file is not in the index (sha256 "),
    (("add", "{missing}"), "{missing}: no such file"),
]


@pytest.mark.parametrize("args, message", BAD_INPUT, ids=[" ".join(args[:3]) for args, _ in BAD_INPUT])
def test_bad_input_is_one_line_exit_1_and_stores_nothing(
        tmp_path: Path, index: Path, footage: tuple[Path, samples.ClipSpec], other_footage: Path,
        args: tuple[str, ...], message: str) -> None:
    (tmp_path / "list.info.json").write_text("[]")
    (tmp_path / "bad.info.json").write_text("{not json")
    names = {"clip": str(footage[0]), "other": str(other_footage), "missing": str(tmp_path / "missing.mp4"),
             "list_json": str(tmp_path / "list.info.json"), "bad_json": str(tmp_path / "bad.info.json")}
    before = snapshot(index)
    result = run(*(arg.format(**names) for arg in args), index=index)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("vidprov: error: " + message.format(**names))
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert snapshot(index) == before


def test_usage_errors_exit_2(index: Path) -> None:
    assert run("add", index=index).exit_code == 2
    assert run("assess", "1", "--by", "TV team", "--result", "x", index=index).exit_code == 2  # no --kind
    assert run("verdict", "1", "--status", "verified", index=index).exit_code == 2  # no --reviewer
    result = run("export", "--format", "xml", index=index)
    assert result.exit_code == 2 and "'xml' is not one of 'json', 'csv', 'jsonld'" in result.stderr
    result = run("add", "clip.mp4", "--radius-m", "five", index=index)
    assert result.exit_code == 2 and "'five' is not a valid float" in result.stderr


def test_commands_that_read_need_an_index(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    result = run("show", "1", index=missing)
    assert result.exit_code == 1
    assert result.stderr == f"vidprov: error: {missing}: no index here yet; add a clip first (vidprov add CLIP)\n"
    result = run("add", str(tmp_path / "typo.mp4"), "--publisher", "CSCIS", index=missing)
    assert result.exit_code == 1 and result.stderr == f"vidprov: error: {tmp_path / 'typo.mp4'}: no such file\n"
    assert not missing.exists()


# -------------------------------------------- claim, assess, verdict, show


def test_later_records_and_show(index: Path, footage: tuple[Path, samples.ClipSpec], other_footage: Path) -> None:
    path, _ = footage
    appearance = snapshot(index)[1]["appearances"][0]["id"]
    result = run("claim", str(path), "--appearance", appearance[:6], "--text", "At most 12 hours old",
                 "--date", "max-age:12h", index=index)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"clip 1: claim [0-9a-f]{32} recorded\n  +\"At most 12 hours old\"; date "
                        r"2024-10-17T12/2024-10-18 \(max-age:12h\)\n", result.stdout)

    assert run("add", str(other_footage), "--publisher", "Primorye channel", "--platform", "telegram",
               "--posted-at", "2024-10-09", index=index).exit_code == 0
    result = run("assess", "4", "--kind", "geolocation", "--by", "TV verification team",
                 "--result", "Sergeevka training ground", "--coords", "44.34,131.66", "--radius-m", "500",
                 "--evidence-url", "https://example.org/geo/1", index=index)
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"assessment [0-9a-f]{32} recorded: geolocation by TV verification team, covering clip 4\n",
                        result.stdout)
    result = run("verdict", "1", "--status", "recycled", "--reviewer", "Desk editor",
                 "--note", "Posted on 9 October already", index=index)
    assert re.fullmatch(r"clip 1: verdict recycled by Desk editor recorded \([0-9a-f]{32}\)\n", result.stdout)

    shown = run("show", "1", index=index).stdout
    sections = ["What the file says (its embedded metadata)", "What people say", "What the desk established"]
    assert [line for line in shown.splitlines() if line in sections] == sections
    file_part = shown.split(sections[0])[1].split(sections[1])[0]
    assert "  container    mp4 (brand isom)" in file_part and "Sergeevka" not in file_part
    assert f"  fingerprint  pdq, {FOOTAGE_FRAMES} frames" in shown
    assert "    publisher    CSCIS (@cscis_example)" in shown
    assert "      date         2024-10-17T12/2024-10-18 (from max-age:12h, anchored on the post at 2024-10-18)" in shown
    assert "      place        Sergeevka training ground, 44.34,131.66 (±5000 m)" in shown
    assert "  no assessment covers this clip" in shown  # the geolocation was of clip 4
    assert re.search(r"  verdict      recycled, by Desk editor, \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n"
                     r"    note         Posted on 9 October already\n", shown)

    other = run("show", "4", index=index).stdout
    assert "    covers       this clip\n" in other and "    place        44.34,131.66 (±500 m)\n" in other

    data = json.loads(run("show", "1", "--json", index=index).stdout)
    assert data["clip_id"] == 1 and data["verdict"]["status"] == "recycled"
    assert len(data["claims"]) == 2 and data["assessments"] == []
    assert data["fingerprint"] == {"algorithm": "pdq", "frames": FOOTAGE_FRAMES} and "raw" not in data["metadata"]

    records_only = run("show", "abcdef1", index=index).stdout
    assert "  fingerprint  none (known from an imported record; add the file to fingerprint it)" in records_only
    assert "  nothing recorded yet" in records_only


def test_text_from_people_is_printed_escaped(index: Path) -> None:
    hostile = "Filmed today\x1b[2J\x1b]8;;https://evil.example\x07here\x1b]8;;\x07 \u202eoof\x9b31m"
    assert run("claim", "1", "--text", hostile, "--claimant", "Anon\x1b[31m", index=index).exit_code == 0
    for output in (run("show", "1", index=index).stdout, run("claim", "1", "--text", hostile, index=index).stdout):
        assert not any(char in output for char in "\x1b\x07\u202e\x9b")
    shown = run("show", "1", index=index).stdout
    assert "Filmed today\\x1b[2J\\x1b]8;;https://evil.example\\x07here" in shown
    assert "Anon\\x1b[31m" in shown and "\\u202eoof\\x9b31m" in shown
    as_json = run("show", "1", "--json", index=index).stdout
    assert as_json.isascii() and hostile in [claim["text"] for claim in json.loads(as_json)["claims"]]


# ---------------------------------------------------------------- list


def test_list_filters_by_publisher_platform_and_posting_date(index: Path, other_footage: Path) -> None:
    assert run("add", str(other_footage), "--publisher", "Primorye channel", "--url", "https://t.me/primorye/4411",
               "--posted-at", "2024-10-09T06:12Z", index=index).exit_code == 0

    def listed(*args: str) -> list[int]:
        result = run("list", *args, index=index)
        assert result.exit_code == 0, result.output
        return [int(line.split()[0]) for line in result.stdout.splitlines()[1:] if line.split()[0].isdigit()]

    everything = run("list", index=index).stdout.splitlines()
    assert everything[0] == " clip  sha256        duration  first posted  verdict        published by"
    assert re.fullmatch(r"    1  [0-9a-f]{12}     9\.0 s  2024-10-18    -              CSCIS on x", everything[1])
    assert re.fullmatch(r"    2  abcdef111111         -  -             -              -", everything[2])
    assert listed() == [1, 2, 3, 4]
    assert listed("--platform", "telegram") == [4]
    assert listed("--publisher", "CSCIS") == [1]
    assert listed("--since", "2024-10-10") == [1]
    assert listed("--until", "2024-10-09") == [4]
    assert listed("--since", "2024-10", "--until", "2024-10") == [1, 4]
    assert run("list", "--publisher", "Nobody", index=index).stdout == "no clips match\n"

    lines = run("list", "--json", "--platform", "x", index=index).stdout.splitlines()
    assert [json.loads(line)["clip_id"] for line in lines] == [1]

    result = run("list", "--since", "soon", index=index)
    assert result.exit_code == 1 and result.stderr.startswith("vidprov: error: --since: 'soon' is not allowed")
    result = run("list", "--platform", "myspace", index=index)
    assert result.exit_code == 1 and result.stderr.startswith("vidprov: error: --platform: 'myspace' is not "
                                                              "allowed; expected one of: x, telegram")


# ------------------------------------------------------ export, import


def test_export_import_round_trip(tmp_path: Path, index: Path) -> None:
    assert run("verdict", "1", "--status", "unverified", "--reviewer", "Desk editor", index=index).exit_code == 0
    target = tmp_path / "desk.json"
    result = run("export", "-o", str(target), index=index)
    assert result.exit_code == 0 and result.stdout == ""
    exported = from_json(target.read_bytes())
    with open_index(index) as opened:
        assert exported == opened.records()

    copy = tmp_path / "copy.db"
    first = run("import", str(target), index=copy)
    assert first.exit_code == 0
    assert first.stdout == (f"imported {target}: clips 3 (3 new), appearances 1 (1 new), claims 1 (1 new), "
                            "assessments 0 (0 new), verdicts 1 (1 new)\n")
    after_first = snapshot(copy)
    second = run("import", str(target), "--json", index=copy)
    assert json.loads(second.stdout)["new"] == {"clips": 0, "appearances": 0, "claims": 0, "assessments": 0,
                                                "verdicts": 0}
    assert snapshot(copy) == after_first
    assert run("export", index=copy).stdout == target.read_text(encoding="utf-8")


def test_export_one_clip_as_csv_and_jsonld(index: Path) -> None:
    claims = run("export", "1", "--format", "csv", index=index).stdout.splitlines()
    assert claims[0].startswith("claim_id,clip_sha256,appearance_id,appearance_url,platform,publisher,")
    assert len(claims) == 2 and ",Troops being issued equipment at Sergeevka," in claims[1]
    appearances = run("export", "1", "--format", "csv", "--table", "appearances", index=index).stdout.splitlines()
    assert appearances[0].startswith("appearance_id,clip_sha256,platform,url,publisher,handle,")
    assert ",'@cscis_example," in appearances[1]  # a cell a spreadsheet would run is quoted
    graph = json.loads(run("export", "1", "--format", "jsonld", index=index).stdout)["@graph"]
    assert [node["@type"] for node in graph] == ["VideoObject", "SocialMediaPosting", "Claim"]
    nothing = json.loads(run("export", "abcdef2", index=index).stdout)
    assert [clip["sha256"] for clip in nothing["clips"]] == [SHA_TWO] and nothing["appearances"] == []


def test_import_refuses_a_file_that_is_not_an_export(tmp_path: Path, index: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"type": "bundle", "schema_version": 1, "clips": [{"type": "clip"}]}))
    before = snapshot(index)
    result = run("import", str(bad), index=index)
    assert result.exit_code == 1
    assert result.stderr == f"vidprov: error: {bad}: bundle.clips[0].schema_version: is missing\n"
    result = run("import", str(tmp_path / "missing.json"), index=index)
    assert result.exit_code == 1 and result.stderr.startswith(f"vidprov: error: {tmp_path / 'missing.json'}: "
                                                              "cannot read (No such file or directory)")
    assert snapshot(index) == before


# ----------------------------------------------------------------- docs


def test_every_record_command_is_documented_and_has_help() -> None:
    text = (ROOT / "docs" / "records.md").read_text(encoding="utf-8")
    for command in RECORD_COMMANDS:
        assert f"vidprov {command}" in text, command
        result = run(command, "--help")
        assert result.exit_code == 0 and "--index PATH|URL" in result.stdout
