"""The HTML report: what it shows, that it is self-contained, and that nothing in it can run.

The desk here: an original clip published in 2022 (by a publisher whose name
is a script), with a claim, a geolocation covering it alone and a hostile
caption; and a reupload that starts 3 s into the original, letterboxed,
re-encoded and tagged with a hostile title, claimed in 2024 to be new. The
browser checks of the same report are in ``test_report_browser.py``.
"""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from vidprov import ingest, report, samples
from vidprov.cli import main
from vidprov.errors import NotFoundError
from vidprov.index import open_index
from vidprov.keyframes import format_time
from vidprov.records import PlaceClaim, Point

#: Text that would run if it were ever put into the page as HTML.
SCRIPT = "<script>document.title='pwned';document.body.insertAdjacentHTML('beforeend','<p id=pwned>')</script>"
IMAGE = "<img src=x onerror=\"document.title='pwned'\">"
#: A URL that passes as http(s) but would close its attribute if written raw.
BAD_URL = "https://example.org/\"><script>alert(1)</script>"
CLAIMED = "2024-10-15/2024-10-18"
SERGEEVKA = PlaceClaim(name="Sergeevka training ground", subdivision="RU-PRI",
                       point=Point(lat=44.34, lon=131.66, radius_m=5000))


@dataclass(frozen=True)
class Desk:
    folder: Path
    index: Path
    original: Path
    reupload: Path


def make_desk(folder: Path) -> Desk:
    """Clip 1, the original (indexed with hostile records); the reupload (indexed as clip 2 with its own claims)."""
    folder.mkdir(parents=True, exist_ok=True)
    original, reupload = folder / "original.mp4", folder / "reupload.mp4"
    spec = samples.ClipSpec(samples.scenes(3, 3.0, seed=21), fps=15.0)
    samples.write_clip(original, spec)
    boxed = []
    for time, rgb in samples.render(spec):
        if time < 3.0 - 1e-6:
            continue  # the reupload starts 3 s into the original
        frame = np.zeros((240, 426, 3), np.uint8)
        frame[:, 53:373] = rgb
        boxed.append((time - 3.0, frame))
    samples.write_frames(reupload, boxed, fps=spec.fps, options={"crf": "32"},
                         metadata={"title": SCRIPT, "comment": IMAGE})
    index_path = folder / "desk.db"
    with open_index(index_path, create=True) as index:
        first = ingest.add(index, original, appearance=ingest.build_appearance(
            platform="youtube", publisher=SCRIPT, url=BAD_URL, posted_at="2022-03-01", description=IMAGE))
        ingest.add_claims(index, first.clip, [ingest.ClaimDraft(text=IMAGE, claimant=SCRIPT)])
        ingest.assess(index, [first.clip], kind="geolocation", made_by="TV team", result=SCRIPT,
                      place=PlaceClaim(name="Sergeevka training ground", point=Point(lat=44.34, lon=131.66,
                                                                                     radius_m=500)),
                      made_at=datetime(2024, 10, 14, tzinfo=timezone.utc))
        second = ingest.add(index, reupload, appearance=ingest.build_appearance(
            platform="x", publisher="CSCIS", url="https://x.com/cscis_example/status/1",
            posted_at="2024-10-18T08:30+03:00"),
            claims=[ingest.ClaimDraft(text="Filmed this week", date=CLAIMED, place=SERGEEVKA)])
        ingest.assess(index, [first.clip, second.clip], kind="source-check", made_by="Desk", result="Same footage",
                      made_at=datetime(2024, 10, 19, tzinfo=timezone.utc))
        ingest.decide(index, second.clip, status="recycled", reviewer="Desk editor", note=SCRIPT,
                      decided_at=datetime(2024, 10, 19, 12, tzinfo=timezone.utc))
    return Desk(folder, index_path, original, reupload)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    return make_desk(tmp_path_factory.mktemp("desk"))


@pytest.fixture(scope="module")
def built(desk: Desk) -> report.Report:
    with open_index(desk.index) as index:
        return report.build(desk.reupload, index)


@pytest.fixture(scope="module")
def page(built: report.Report) -> str:
    return report.to_html(built)


class Tags(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> Tags:
    parser = Tags()
    parser.feed(page)
    parser.close()
    return parser


def data_uri_image(uri: str) -> Image.Image:
    assert uri.startswith("data:image/jpeg;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1], validate=True)))
    image.load()
    return image


# ------------------------------------------------------------ safety


def test_nothing_from_a_file_or_a_claim_becomes_markup(page: str) -> None:
    parsed = parse(page)
    assert [tag for tag, _ in parsed.tags if tag in ("script", "iframe", "object", "embed", "link", "base")] == []
    handlers = [(tag, name) for tag, attrs in parsed.tags for name in attrs if name.startswith("on")]
    assert handlers == []
    for payload in (SCRIPT, IMAGE, BAD_URL):
        assert payload not in page
    text = "".join(parsed.text)
    assert SCRIPT in text and IMAGE in text  # shown, as text, where it was recorded
    assert html.escape(SCRIPT, quote=True) in page


def test_the_page_forbids_scripts_and_loads_nothing(page: str) -> None:
    parsed = parse(page)
    metas = [attrs for tag, attrs in parsed.tags if tag == "meta"]
    assert metas[0] == {"charset": "utf-8"}
    assert metas[1] == {"http-equiv": "Content-Security-Policy",
                        "content": "default-src 'none'; img-src data:; style-src 'unsafe-inline'"}
    sources = [attrs.get("src") for tag, attrs in parsed.tags if "src" in attrs]
    assert sources and all(str(src).startswith("data:image/jpeg;base64,") for src in sources)
    links = [str(attrs["href"]) for tag, attrs in parsed.tags if tag == "a" and "href" in attrs]
    assert all(href.startswith(("#", "data:image/jpeg;base64,", "https://", "http://")) for href in links)
    assert not [tag for tag, attrs in parsed.tags if tag != "a" and "href" in attrs]
    assert "url(" not in page and "@import" not in page


def test_an_url_that_would_break_out_of_its_attribute_is_text_not_a_link(page: str) -> None:
    hrefs = [attrs["href"] for tag, attrs in parse(page).tags if tag == "a"]
    assert BAD_URL not in hrefs
    assert html.escape(BAD_URL, quote=True) in page


# -------------------------------------------------------------- content


def test_keyframes_link_to_their_full_frames_named_by_time(page: str, built: report.Report) -> None:
    assert built.keyframes is not None and len(built.keyframes.keyframes) >= 2
    anchors = [attrs for tag, attrs in parse(page).tags if tag == "a" and "download" in attrs]
    names = [attrs["download"] for attrs in anchors]
    assert names == [k.filename("reupload") for k in built.keyframes.keyframes]
    assert all(re.fullmatch(r"reupload_t\d{4}\.\d{3}\.jpg", str(name)) for name in names)
    full = data_uri_image(str(anchors[0]["href"]))
    assert full.size == (320, 240)  # the active picture, without the letterbox bars
    for keyframe in built.keyframes.keyframes:
        assert f"<figcaption>{format_time(keyframe.t)} · 320x240</figcaption>" in page


def test_each_full_frame_is_written_as_it_is_decoded(built: report.Report) -> None:
    writes: list[str] = []

    class Recorder(io.StringIO):
        def write(self, text: str) -> int:
            writes.append(text)
            return len(text)

    report.write_html(built, Recorder())
    with_frames = [text for text in writes if "download=" in text]
    # One write per keyframe: the full-size frames are never gathered into one string.
    assert built.keyframes is not None and len(with_frames) == len(built.keyframes.keyframes)
    assert all(text.count("download=") == 1 for text in with_frames)


def test_a_long_clip_embeds_full_frames_for_its_first_keyframes_only(built: report.Report,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from vidprov.report import _html

    monkeypatch.setattr(_html, "FULL_FRAMES", 1)
    page = report.to_html(built)
    anchors = [attrs for tag, attrs in parse(page).tags if tag == "a" and "download" in attrs]
    assert [attrs["download"] for attrs in anchors] == [built.keyframes.keyframes[0].filename("reupload")]  # type: ignore[union-attr]
    assert "Full-size frames are embedded for the first 1 keyframes only" in page
    assert "vidprov keyframes reupload.mp4 -o DIR" in page


def test_every_embedded_picture_decodes(page: str) -> None:
    uris = re.findall(r'"(data:image/jpeg;base64,[^"]+)"', page)
    assert len(uris) >= 8
    for uri in uris:
        assert data_uri_image(uri).size[0] > 0


def test_matched_frames_side_by_side_at_the_mapped_time(built: report.Report, page: str) -> None:
    (evidence,) = built.matches
    assert evidence.match.clip_id == 1 and evidence.judgement == "partial overlap"
    assert evidence.file is not None and Path(evidence.file).name == "original.mp4"
    assert 2 <= len(evidence.pairs) <= report.PAIRS_PER_MATCH
    for pair in evidence.pairs:
        assert abs(pair.reference_time - pair.query_time - 3.0) <= 0.5  # the reupload starts 3 s in
        assert pair.distance <= 40
        assert pair.query is not None and pair.reference is not None
        # Thumbnails only: no full frame is held by the report.
        assert pair.query.width <= report.PAIR_WIDTH and pair.reference.width <= report.PAIR_WIDTH
    segment = evidence.match.segments[0]
    assert abs(segment.reference_start - segment.query_start - 3.0) <= 0.5
    assert "1. clip 1: partial overlap" in page
    assert "(covers clip 1; it does not cover this clip)" in page


def test_without_the_matched_clips_file_the_times_are_still_shown(desk: Desk, tmp_path: Path) -> None:
    alone = tmp_path / "reupload.mp4"
    shutil.copy(desk.reupload, alone)
    with open_index(desk.index) as index:
        built = report.build(alone, index)
    (evidence,) = built.matches
    assert evidence.file is None and evidence.pairs
    assert all(p.query is not None and p.reference is None for p in evidence.pairs)
    page = report.to_html(built)
    assert "The file of clip 1 was not found" in page
    assert page.count('<div class="missing">file of clip 1 not found</div>') == len(evidence.pairs)
    with open_index(desk.index) as index:
        found = report.build(alone, index, folders=[desk.folder])
    assert found.matches[0].file == str(desk.original)


def test_timeline_earliest_first_against_the_claimed_date(page: str, built: report.Report) -> None:
    assert built.provenance.date_conflict is not None
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert '<rect class="claimed"' in svg and "claimed: 2024-10-15/2024-10-18" in svg
    labels = re.findall(r'<text class="(event[^"]*)-label"[^>]*><title>[^<]*</title>([^<]*)</text>', svg)
    assert labels == [("event conflict", "first seen: " + html.escape(SCRIPT[:24], quote=True) + "… (clip 1)"),
                      ("event", "CSCIS (this clip)")]
    assert "The footage was first posted 956.8 days before the earliest date claimed for it" in page


def test_places_with_coordinates_radius_and_map_link(page: str) -> None:
    osm = "https://www.openstreetmap.org/?mlat=44.340000&amp;mlon=131.660000#map=13/44.340000/131.660000"
    assert page.count(f'href="{osm}"') == 2  # the claim about this clip, the geolocation of clip 1
    assert "44.34000, 131.66000</span> ± 5000 m" in page
    assert "44.34000, 131.66000</span> ± 500 m" in page


def test_records_of_this_clip_and_what_assessments_cover(page: str) -> None:
    records = page[page.index('<section id="records">'):page.index('<section id="keyframes">')]
    assert "Filmed this week" in records and "CSCIS" in records
    assert "source-check" in records and "and also clip 1" in records
    assert "geolocation" not in records  # it covers clip 1 only, and is shown with that match
    assert '<span class="badge recycled">recycled</span> by Desk editor, 2024-10-19 12:00 UTC' in records


def test_metadata_fields_then_raw_tags_collapsed(page: str) -> None:
    meta = page[page.index('<section id="metadata">'):]
    assert meta.index("<table>") < meta.index("<details>")
    raw = meta[meta.index("<details>"):meta.index("</details>")]
    assert html.escape(SCRIPT, quote=True) in raw and html.escape(IMAGE, quote=True) in raw


# ----------------------------------------------------------- variations


def test_a_clip_reference_without_its_file(desk: Desk) -> None:
    with open_index(desk.index) as index:
        built = report.build("2", index)
        assert built.path is None and built.keyframes is None and built.clip is not None
        assert built.matches and all(p.query is None for p in built.matches[0].pairs)
        assert "The file of clip 2 was not found" in built.notes[0]
        page = report.to_html(built)
        assert "No keyframes: the clip's file was not available." in page
        found = report.build("2", index, folders=[desk.folder])
        assert found.path == str(desk.reupload) and found.keyframes is not None


def test_a_file_with_no_index(desk: Desk) -> None:
    built = report.build(desk.original, None, claimed_date="2024-10-15")
    assert built.matches == () and built.index_location is None
    assert built.provenance.claimed_date is not None
    page = report.to_html(built)
    assert "No index was searched." in page


def test_a_reference_with_no_index_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no such file"):
        report.build(tmp_path / "missing.mp4", None)


# ---------------------------------------------------------------- CLI


def test_cli_writes_the_report(desk: Desk, tmp_path: Path) -> None:
    output = tmp_path / "out" / "report.html"
    output.parent.mkdir()
    result = CliRunner().invoke(main, ["report", str(desk.reupload), "--index", str(desk.index), "-o", str(output)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert re.fullmatch(rf"wrote {re.escape(str(output))}: \d+ keyframes, 1 match", lines[0])
    assert lines[1].startswith(f"verdict: 1 indexed clip shares footage with this one. This footage was first "
                               f"published by {SCRIPT} on 2022-03-01")
    assert output.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in output.parent.iterdir()] == ["report.html"]  # no temporary file left


def test_cli_default_output_name(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["report", "1", "--index", str(desk.index), "--clips-dir", str(desk.folder)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "clip1_report.html").is_file()


def test_cli_errors(desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("VIDPROV_INDEX", raising=False)
    result = CliRunner().invoke(main, ["report", "nothing.mp4"])
    assert result.exit_code == 1
    assert result.output == "vidprov: error: nothing.mp4: no such file (and no index to look up a clip reference in)\n"
    result = CliRunner().invoke(main, ["report", str(desk.original), "--index", "typo.db"])
    assert result.exit_code == 1
    assert result.output == "vidprov: error: typo.db: no index here yet; add a clip first (vidprov add CLIP)\n"
    result = CliRunner().invoke(main, ["report", "9", "--index", str(desk.index)])
    assert result.exit_code == 1
    assert result.output == "vidprov: error: 9: no clip has this id or sha256 prefix, and there is no such file\n"
    assert list(tmp_path.iterdir()) == []


def test_a_window_at_an_angle_is_shown_straightened() -> None:
    import cv2
    import numpy as np

    from vidprov.borders import CropBox
    from vidprov.report._frames import cut

    # A picture with a bright left half, seen at an angle inside a grey frame.
    picture = np.zeros((90, 160, 3), np.uint8)
    picture[:, :80] = 230
    corners = np.float32([[60, 40], [250, 30], [260, 150], [50, 140]])
    homography = cv2.getPerspectiveTransform(np.float32([[0, 0], [160, 0], [160, 90], [0, 90]]), corners)
    frame = cv2.warpPerspective(picture, homography, (320, 180), borderValue=(128, 128, 128))
    box = CropBox.around(corners.tolist())
    straight = cut(frame, box)
    assert straight.shape[:2] == (box.height, box.width)
    middle = straight.shape[1] // 2
    assert straight[5:-5, 5:middle - 8].mean() > 200 and straight[5:-5, middle + 8:-5].mean() < 30
    upright = cut(frame, CropBox(box.x, box.y, box.width, box.height))  # the grey frame shows in its corners
    assert 100 < upright[:5, :5].mean() < 160 and straight[:5, :5].mean() > 200
