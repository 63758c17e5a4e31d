"""Sergeevka: is "new" footage older than it is said to be?

Models a verification case end to end on footage it generates, so it needs no
file of yours and nothing from the network:

    python examples/sergeevka.py [WORKDIR]

The case: a 30-second clip is posted on X by Ukraine's Center for Strategic
Communications (CSCIS), said to show troops being issued equipment at the
Sergeevka training ground in Primorsky Krai. Ukrainska Pravda relays it,
saying the footage is at most three days old and that the claim cannot be
independently verified. Earlier, a TV verification team had geolocated two
clips posted on Telegram to Sergeevka.

The desk indexes the two earlier clips with the team's geolocation (which
covers those two clips only), adds the X clip with what CSCIS and Ukrainska
Pravda said, searches the index for the X clip's footage and asks where it
comes from. The X clip here is a letterboxed re-encode of the two earlier
clips put end to end; all clips, handles and URLs are stand-ins.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from vidprov import ingest, match, samples
from vidprov.index import open_index
from vidprov.records import Appearance, PlaceClaim, Platform, Point, Relay, RelayKind, parse_timestamp

#: Frames per second of the generated footage: few enough that the example runs in seconds.
FPS = 15.0

SERGEEVKA = PlaceClaim(name="Sergeevka training ground", subdivision="RU-PRI",
                       point=Point(lat=44.34, lon=131.66, radius_m=5000))


def make_footage(workdir: Path) -> tuple[Path, Path, Path]:
    """Two earlier 15-second clips, and the 30-second "X post" made of both, letterboxed and re-encoded."""
    shots = samples.scenes(6, 5.0, seed=1018)
    first, second, posted = workdir / "telegram_1.mp4", workdir / "telegram_2.mp4", workdir / "x_post.mp4"
    samples.write_clip(first, samples.ClipSpec(shots[:3], fps=FPS))
    samples.write_clip(second, samples.ClipSpec(shots[3:], fps=FPS))
    # 4:3 footage in a 16:9 frame with black bars, re-encoded harder, as a repost to X would be.
    boxed = []
    for time, rgb in samples.render(samples.ClipSpec(shots, fps=FPS)):
        frame = np.zeros((240, 426, 3), np.uint8)
        frame[:, 53:373] = rgb
        boxed.append((time, frame))
    samples.write_frames(posted, boxed, fps=FPS, options={"crf": "32"})
    return first, second, posted


def main(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("desk.db*"):  # start from an empty index on every run
        old.unlink()
    first, second, posted = make_footage(workdir)

    with open_index(workdir / "desk.db", create=True) as index:
        # 1. The earlier clips, as published on Telegram.
        earlier = []
        for path, post, when in ((first, 4411, "2024-10-09T06:12:40Z"), (second, 4463, "2024-10-11T17:40:05Z")):
            added = ingest.add(index, path, appearance=Appearance(
                platform=Platform.TELEGRAM, publisher="Primorye channel (stand-in)", handle="primorye_example",
                url=f"https://t.me/primorye_example/{post}", post_id=str(post), posted_at=parse_timestamp(when)))
            earlier.append(added.clip)
            print(f"indexed clip {added.clip.id} ({path.name}): posted on Telegram {when}")

        # 2. The TV team's geolocation, recorded on exactly those two clips.
        geolocation = ingest.assess(
            index, earlier, kind="geolocation", made_by="TV verification team (stand-in)",
            made_at=datetime(2024, 10, 14, 12, 0, tzinfo=timezone.utc),
            result="Terrain and buildings match the Sergeevka training ground",
            evidence_url="https://example.org/geolocation/sergeevka",
            place=PlaceClaim(name="Sergeevka training ground", subdivision="RU-PRI",
                             point=Point(lat=44.34, lon=131.66, radius_m=500), basis="geolocated"))
        print(f"geolocation by {geolocation.made_by} covers clips {', '.join(str(c.id) for c in earlier)}")

        # 3. The X post and what CSCIS says it shows; then Ukrainska Pravda relaying it.
        cscis = Appearance(platform=Platform.X, publisher="Center for Strategic Communications (CSCIS)",
                           handle="@cscis_example", url="https://x.com/cscis_example/status/1",
                           posted_at=parse_timestamp("2024-10-18T08:30+03:00"))
        added = ingest.add(index, posted, appearance=cscis, claims=[ingest.ClaimDraft(
            text="Troops being issued equipment at the Sergeevka training ground in Primorsky Krai",
            place=SERGEEVKA)])
        clip = added.clip
        print(f"indexed clip {clip.id} ({posted.name}): posted on X by CSCIS {cscis.posted_at}")
        relay = Appearance(platform=Platform.WEB, publisher="Ukrainska Pravda", url="https://example.org/up/news/1",
                           posted_at=parse_timestamp("2024-10-18T10:05+03:00"),
                           relay_of=Relay(kind=RelayKind.RELAY, appearance_id=cscis.id))
        relayed = ingest.add(index, posted, appearance=relay, claims=[ingest.ClaimDraft(
            text="The footage is at most three days old; the claim cannot be independently verified",
            date="max-age:3d")])
        print(f"Ukrainska Pravda relays clip {relayed.clip.id} ({'new clip' if relayed.created else 'same file'}),"
              f" claimed date {relayed.claims[0].date}")
        covered = geolocation.applies_to(clip.sha256)
        print(f"the geolocation covers the X clip: {'yes' if covered else 'no (it was made of the earlier clips)'}")

        # 4. Has this footage been seen before, and what does that say about the claims?
        query = match.fingerprint_query(posted, algorithm=index.algorithm)
        found = match.search(index, query, exclude=clip.sha256)
        print(f"matches: {len(found)}")
        for item in found:
            print(f"  clip {item.clip_id}: score {item.score:.2f}, covers {item.query_coverage:.0%} of the X clip"
                  f"{' (mirrored)' if item.mirrored else ''}")
        verdict = match.provenance(index, clip.sha256, found)

        # 5. The desk's verdict, after a person has looked at that evidence.
        if verdict.date_conflict is not None:
            decided = ingest.decide(index, clip, status="recycled", reviewer="Desk editor (stand-in)",
                                    note=verdict.summary)
        else:
            decided = ingest.decide(index, clip, status="unverified", reviewer="Desk editor (stand-in)")

    first_seen = verdict.earliest_appearance
    print("verdict:", verdict.summary)
    if first_seen is not None:
        print(f"earliest appearance: {first_seen.publisher} on {first_seen.platform.value}, {first_seen.posted_at}, "
              f"{first_seen.url}")
    if verdict.claimed_date is not None:
        print(f"claimed date: {verdict.claimed_date}")
    if verdict.date_conflict is not None:
        print(f"date conflict: first posted {verdict.date_conflict.days:.1f} days before the earliest claimed date")
    else:
        print("date conflict: none")
    print(f"place conflicts: {len(verdict.place_conflicts) or 'none'}")
    print(f"desk verdict on clip {clip.id}: {decided.status.value}")
    print(f"everything recorded: vidprov show {clip.id} --index {workdir / 'desk.db'}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="vidprov-sergeevka-")))
