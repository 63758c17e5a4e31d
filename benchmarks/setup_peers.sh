#!/usr/bin/env bash
# Installs the peer tools the benchmarks run beside vidprov. vidprov itself needs none of this.
#  - vpdq (Meta's vPDQ, PyPI) builds against Debian's FFmpeg development packages;
#  - videohash2 calls an ffmpeg binary;
#  - perception (thorn) provides the TMK hasher used by benchmarks/reupload.py.
set -euo pipefail
apt-get update -qq
apt-get install -y -qq pkg-config libavdevice-dev libavfilter-dev libavformat-dev libavcodec-dev \
    libswresample-dev libswscale-dev libavutil-dev ffmpeg
pip install vpdq videohash2
# perception asks for opencv-contrib-python-headless<5, whose cv2 would replace the OpenCV vidprov
# installs; its TMK hasher works with either, so install it without dependencies and add the rest.
pip install --no-deps perception
pip install validators rich tqdm pywavelets scipy Pillow
