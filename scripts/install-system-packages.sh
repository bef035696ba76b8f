#!/usr/bin/env bash
# Debian packages the test suite uses: Chromium for the end-to-end browser test, a CJK font for the
# PDF reports, poppler-utils to read the PDFs back, R with the survey package to re-run the scripts
# that made the R fixtures, nginx for the deployment tests (the buffering reverse proxy of
# deploy/nginx/; the tests run their own nginx process on a loopback port, never the package's
# service). Installs only what is missing, and only when it can (root with apt-get); otherwise it
# says what is missing and the tests that need it skip.
set -u
# r-cran-mass: survey's calibrate() loads MASS, which --no-install-recommends leaves out
packages=(chromium fonts-noto-cjk poppler-utils r-cran-survey r-cran-mass nginx)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || true
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null \
        || echo "warning: could not install ${missing[*]}; the tests that need them will skip (and fail when CI=true)" >&2
else
    echo "note: missing Debian packages ${missing[*]} (not root); the tests that need them will skip" >&2
fi
exit 0
