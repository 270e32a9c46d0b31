# Debian packages the tests use (sourced by scripts/test.sh): pdftotext
# (poppler-utils), dsrdump/dcmdump (dcmtk) and dciodvfy (dicom3tools) read
# the reports back; the viewer's UI tests render headless through Mesa's
# software renderer, and the smoke run opens a real window under Xvfb with
# the X libraries winit loads at run time. The PACS tests start Orthanc
# (with its DICOMweb plugin) and dcmtk's servers inside a private network
# namespace (iproute2 brings its loopback up) and make test certificates
# with openssl (socat puts TLS in front of Orthanc). The triage test starts a
# one-node Slurm (slurmctld, slurmd) with munge in the same namespace.
# Installed only when missing, with sudo when not root; without apt the
# tests that need them fail and name the package.
HILUM_TEST_PACKAGES="poppler-utils dcmtk dicom3tools orthanc orthanc-dicomweb iproute2 openssl socat slurm-wlm munge xvfb xauth libegl1 libegl-mesa0 libgl1-mesa-dri libxkbcommon-x11-0 libxcursor1 libxrandr2 libxi6"

hilum_missing=""
for package in $HILUM_TEST_PACKAGES; do
    dpkg -s "$package" >/dev/null 2>&1 || hilum_missing="$hilum_missing $package"
done
if [ -n "$hilum_missing" ] && command -v apt-get >/dev/null 2>&1; then
    hilum_sudo=""
    [ "$(id -u)" -eq 0 ] || hilum_sudo="sudo"
    echo "hilum: installing Debian packages:$hilum_missing" >&2
    $hilum_sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $hilum_sudo apt-get install -y -qq --no-install-recommends $hilum_missing >/dev/null
fi
