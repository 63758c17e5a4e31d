"""Recording claims: who published footage, what they said, and what the desk established.

Runs on footage it generates, so it needs no file of yours:

    python examples/record_claims.py [WORKDIR]

1. A clip arrives as yt-dlp downloaded it, with the ``.info.json`` of the post
   beside it. vidprov reads the appearance (platform, channel, post time, URL)
   from that file. The caption says the footage was filmed "this morning" in
   Ussuriysk: a claim with the date ``max-age:12h`` (at most 12 hours before
   the post) and a place.
2. Later, a source on the phone tells the desk it was filmed in Kharkiv: a
   claim about the clip made elsewhere, recorded verbatim beside the first.
3. The desk geolocates the clip (an assessment that covers exactly this clip)
   and records its verdict. The two places claimed cannot both hold, and the
   verdict says which the evidence supports.
4. The records go out as a lossless JSON export (imported again into a second
   desk's index), as CSV for a spreadsheet, and as schema.org JSON-LD
   (ClaimReview, MediaReview) for publishing a fact-check.
"""

from __future__ import annotations

import json
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from vidprov import ingest, match, samples
from vidprov.index import open_index
from vidprov.records import claims_csv, from_json, to_json, to_jsonld

#: What yt-dlp's --write-info-json writes for a Telegram post (only the fields vidprov reads; stand-ins).
INFO_JSON = {
    "id": "613",
    "title": "Primorye channel (stand-in)",
    "description": "Filmed this morning in Ussuriysk: a column on the road to the training ground",
    "channel": "Primorye channel (stand-in)",
    "channel_id": "primorye_example",
    "timestamp": 1729001203,  # 2024-10-15T14:06:43Z
    "webpage_url": "https://t.me/primorye_example/613",
    "webpage_url_domain": "t.me",
    "extractor": "telegram:embed",
    "extractor_key": "TelegramEmbed",
}


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for old in [*workdir.glob("desk.db*"), *workdir.glob("second_desk.db*")]:  # empty indexes on every run
        old.unlink()
    clip = workdir / "primorye_613.mp4"
    samples.write_clip(clip, samples.ClipSpec(samples.scenes(2, 3.0, seed=613), fps=15.0))
    info = workdir / "primorye_613.info.json"
    info.write_text(json.dumps(INFO_JSON, ensure_ascii=False, indent=2), encoding="utf-8")

    with open_index(workdir / "desk.db", create=True) as index:
        # 1. The post, read from yt-dlp's file, and what its caption claims.
        caption = ingest.ClaimDraft(
            text=INFO_JSON["description"], date="max-age:12h",
            place=ingest.place_from_parts(name="Ussuriysk", country="RU", coords="43.797,131.952", radius_m=8000))
        added = ingest.add(index, clip, info_json=info, claims=[caption])
        post = added.appearance
        assert post is not None
        print(f"clip {added.clip.id}: {post.publisher} on {post.platform.value}, posted {post.posted_at}, {post.url}")
        print(f"  claim: \"{added.claims[0].text}\"")
        print(f"  date:  {added.claims[0].date}")
        print(f"  place: {added.claims[0].place}")

        # 2. A later claim, made to the desk rather than in a post.
        stored, claims, _ = ingest.add_claims(index, added.clip, [ingest.ClaimDraft(
            claimant="Source on the phone (stand-in)", text="That is Kharkiv, I know the road",
            place=ingest.place_from_parts(name="Kharkiv", country="UA"))])
        print(f"clip {stored.id}: claim by {claims[0].claimant}: \"{claims[0].text}\" ({claims[0].place})")

        # 3. What the desk established, about exactly this clip, and its verdict.
        geolocation = ingest.assess(
            index, [added.clip], kind="geolocation", made_by="Desk geolocation team (stand-in)",
            result="Road, power line and tree line match the outskirts of Ussuriysk",
            evidence_url="https://example.org/geolocation/613",
            place=ingest.place_from_parts(name="Ussuriysk outskirts", country="RU", coords="43.781,131.990",
                                          radius_m=300, basis="geolocated"),
            made_at=datetime(2024, 10, 16, 9, 0, tzinfo=timezone.utc))
        print(f"assessment: {geolocation.kind.value} by {geolocation.made_by}: {geolocation.result}")
        verdict = match.provenance(index, added.clip.sha256, [])
        for conflict in verdict.place_conflicts:
            print(f"place conflict: {conflict.first['place']} vs {conflict.second['place']} ({conflict.reason})")
        decided = ingest.decide(index, added.clip, status="verified", reviewer="Desk editor (stand-in)",
                                note="Geolocated to Ussuriysk as captioned; the Kharkiv claim does not hold",
                                decided_at=datetime(2024, 10, 16, 10, 0, tzinfo=timezone.utc))
        print(f"verdict: {decided.status.value} by {decided.reviewer}")

        # 4. Out of the index: lossless JSON, CSV, schema.org JSON-LD.
        bundle = index.records([added.clip.sha256])
    export = workdir / "desk.json"
    export.write_text(to_json(bundle) + "\n", encoding="utf-8")
    with open_index(workdir / "second_desk.db", create=True) as second:
        imported = ingest.import_bundle(second, from_json(export.read_text(encoding="utf-8"), path=str(export)))
    print(f"exported to {export.name}; a second desk imported "
          + ", ".join(f"{name} {count}" for name, count in imported.new.items()))
    table = claims_csv(bundle)
    (workdir / "claims.csv").write_text(table, encoding="utf-8")
    print(f"claims.csv: {len(table.splitlines()) - 1} rows, columns {table.splitlines()[0][:60]}...")
    markup = to_jsonld(bundle)
    (workdir / "desk.jsonld").write_text(json.dumps(markup, ensure_ascii=False, indent=2), encoding="utf-8")
    kinds = sorted({node["@type"] for node in markup.get("@graph", []) if isinstance(node.get("@type"), str)})
    print(f"desk.jsonld: schema.org {', '.join(kinds)}")
    print(f"everything recorded: vidprov show {added.clip.id} --index {workdir / 'desk.db'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vidprov-claims-")))
