#!/bin/sh
# Install the Debian photo packages the flow training's photo scenes are drawn from and link their
# folders under one training folder (default runs/training_photos, the photo_dir of
# configs/flow/spikeflow_7_camera.json). Training data only: nothing of the package, its tests or
# its run time reads these photographs. Licences: docs/training/flow.md.
#
#   sh scripts/get_training_photos.sh [FOLDER]
set -eu
OUT=${1:-runs/training_photos}
PACKAGES="gnome-backgrounds mate-backgrounds plasma-workspace-wallpapers"
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO=sudo; fi
missing=""
for p in $PACKAGES; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    $SUDO apt-get update
    # shellcheck disable=SC2086
    $SUDO apt-get install -y --no-install-recommends $missing
fi
mkdir -p "$OUT"
# one link per picture: GNOME's and MATE's files (not MATE's copies of one picture at larger sizes),
# one size of each Plasma wallpaper (1920x1080 where there is one)
link() { ln -sfn "$1" "$OUT/$2"; }
for f in /usr/share/backgrounds/gnome/* /usr/share/backgrounds/mate/*/*; do
    case "$f" in
        *_[0-9]*x[0-9]*.*) ;;
        *.jpg|*.jpeg|*.png|*.webp) link "$f" "$(echo "$f" | sed 's|^/usr/share/backgrounds/||; s|/|_|g')" ;;
    esac
done
for d in /usr/share/wallpapers/*/contents/images; do
    [ -d "$d" ] || continue
    name=$(basename "$(dirname "$(dirname "$d")")")
    pick=$(ls "$d"/1920x1080.* 2>/dev/null | head -n 1 || true)
    [ -n "$pick" ] || pick=$(ls "$d"/* | head -n 1)
    link "$pick" "plasma_$name.${pick##*.}"
done
n=$(find -L "$OUT" -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.webp' \) | wc -l)
echo "photographs: $n files under $OUT (links into /usr/share/backgrounds and /usr/share/wallpapers)"
for p in $PACKAGES; do echo "licence of $p: /usr/share/doc/$p/copyright"; done
