#!/usr/bin/env bash
# Builds the Debian package (debian/) from a copy of the source tree, runs lintian on it, unpacks it into a
# throwaway root with the parts of its postinst that mean something there, and checks what it installs:
# owners and modes, the conffile, every file the build's `cmake --install` installed at its Debian path, a
# postinst that creates the user but neither enables nor starts the service, and a binary that runs.
# Usage: debian.sh SOURCE_DIR
set -euo pipefail
source_dir=$(realpath "$1")

# Owners in the throwaway root need chown: as another user the whole check runs under fakeroot.
if ((EUID != 0)); then
  exec fakeroot -- bash "$0" "$@"
fi

work=$(mktemp -d -t projectord-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# dpkg-buildpackage writes the packages next to the tree (../*.deb) and its build dirs inside debian/: it
# builds a copy, so the source dir stays as it was.
src=$work/projectord
mkdir "$src"
if git -C "$source_dir" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$source_dir" && git ls-files -z --cached --others --exclude-standard) |
    tar -C "$source_dir" --null --ignore-failed-read -T - -cf - | tar -C "$src" -xf -
else
  tar -C "$source_dir" --exclude='./build*' -cf - . | tar -C "$src" -xf -
fi

if ! (cd "$src" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" dpkg-buildpackage -us -uc -b) \
  >"$work/build.log" 2>&1; then
  tail -n 60 "$work/build.log" >&2
  fail "dpkg-buildpackage -us -uc -b failed (its last lines above)"
fi
version=$(cd "$src" && dpkg-parsechangelog -S Version)
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb=$work/projectord_${version}_${arch}.deb
dev_deb=$work/projectord-dev_${version}_${arch}.deb
[[ -f $deb ]] || fail "no $(basename "$deb") next to the tree"
[[ -f $dev_deb ]] || fail "no $(basename "$dev_deb") next to the tree"

# Errors and warnings fail; an accepted tag is overridden in debian/ with a comment saying why.
if ! lintian --fail-on error,warning "$work/projectord_${version}_${arch}.changes" >"$work/lintian.log" 2>&1; then
  cat "$work/lintian.log" >&2
  fail "lintian reports errors or warnings that debian/*lintian-overrides do not explain (above)"
fi

# What the packages hold, as "mode owner/group path" with paths from the root (./usr/bin/x -> /usr/bin/x).
listing() {
  dpkg-deb -c "$1" | awk '{ path = $6; sub(/^\./, "", path); print $1, $2, path }'
}
contents=$(listing "$deb")
dev_contents=$(listing "$dev_deb")
entry() {  # entry PATH: the listing's line for PATH in either package
  awk -v path="$1" '$3 == path' <<<"$contents"$'\n'"$dev_contents"
}
packaged() {  # packaged PATH: PATH, or PATH.gz when dh_compress gzipped it
  if [[ -z $(entry "$1") && -n $(entry "$1.gz") ]]; then echo "$1.gz"; else echo "$1"; fi
}
expect_entry() {  # expect_entry PATH MODE
  local line
  line=$(entry "$1")
  [[ -n $line ]] || fail "$1 is in neither package"
  [[ $line == "$2 root/root $1" ]] || fail "$1 is listed as '$line', expected mode $2 owned by root/root"
}
others=$(awk '$2 != "root/root"' <<<"$contents"$'\n'"$dev_contents")
[[ -z $others ]] || fail "files not owned by root/root: $others"
expect_entry /usr/bin/projectord -rwxr-xr-x
expect_entry /lib/systemd/system/projectord.service -rw-r--r--
expect_entry /usr/lib/sysusers.d/projectord.conf -rw-r--r--
expect_entry /usr/lib/tmpfiles.d/projectord.conf -rw-r--r--
expect_entry /etc/projectord/projectord.toml -rw-r--r--
expect_entry /usr/share/man/man8/projectord.8.gz -rw-r--r--
expect_entry /usr/share/man/man5/projectord.toml.5.gz -rw-r--r--
expect_entry "$(packaged /usr/share/doc/projectord/README.Debian)" -rw-r--r--
for doc in "$source_dir"/README.md "$source_dir"/docs/*.md; do
  expect_entry "$(packaged "/usr/share/doc/projectord/$(basename "$doc")")" -rw-r--r--
done

# Every file the package build's `cmake --install` (dh_auto_install into debian/tmp) installed, at its Debian
# path: units move to /lib/systemd/system, and dh_compress may have gzipped it.
manifest=$(echo "$src"/obj-*/install_manifest.txt)
[[ -s $manifest ]] || fail "the package build left no install_manifest.txt"
installed=0
while IFS= read -r path; do
  path=${path#"$src/debian/tmp"}
  path=${path/#\/usr\/lib\/systemd\/system\//\/lib\/systemd\/system\/}
  [[ -n $(entry "$(packaged "$path")") ]] || fail "cmake --install installs $path, which neither package holds"
  installed=$((installed + 1))
done <"$manifest"
((installed > 100)) || fail "the install manifest lists only $installed files"

# The maintainer scripts, the Debian way: debhelper's snippets create the user and the config dir's owner,
# reload systemd, and leave the service disabled and stopped (debian/README.Debian says why).
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/projectord/projectord.toml "$work/control/conffiles" ||
  fail "/etc/projectord/projectord.toml is not a conffile: $(cat "$work/control/conffiles")"
postinst=$(cat "$work/control/postinst")
[[ $postinst == *"systemd-sysusers"*"projectord.conf"* ]] || fail "the postinst does not run systemd-sysusers"
[[ $postinst == *"systemd-tmpfiles"*"--create"*"projectord.conf"* ]] || fail "the postinst does not run systemd-tmpfiles"
[[ $postinst == *"daemon-reload"* ]] || fail "the postinst does not reload systemd"
[[ $postinst == *"systemd-sysusers"*"systemd-tmpfiles"* ]] ||
  fail "the postinst runs systemd-tmpfiles before systemd-sysusers has created the projectord group"
# dh_installsystemd --no-enable's form: it enables the unit again only where the admin had enabled it.
[[ $postinst == *"deb-systemd-helper debian-installed 'projectord.service'"* ]] ||
  fail "the postinst enables projectord.service on install"

# Installed into a throwaway root: dpkg --root would run the maintainer scripts chrooted into a root that has
# no shell, or unchrooted against this host's systemd; so the packages are unpacked and the postinst's two
# root-aware steps run with --root, as the postinst runs them without it.
root=$work/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -x "$dev_deb" "$root"
systemd-sysusers --root="$root" projectord.conf
systemd-tmpfiles --root="$root" --create projectord.conf
user=$(awk -F: '$1 == "projectord"' "$root/etc/passwd")
[[ $user == projectord:x:*:*:*:/:/usr/sbin/nologin ]] || fail "no system user projectord with nologin: '$user'"
gid=$(awk -F: '$1 == "projectord" { print $3 }' "$root/etc/group")
[[ -n $gid ]] || fail "no group projectord"
read -r mode uid dir_gid < <(stat -c '%a %u %g' "$root/etc/projectord")
[[ $mode == 750 && $uid == 0 && $dir_gid == "$gid" ]] ||
  fail "/etc/projectord is $mode $uid:$dir_gid, expected 750 root:projectord ($gid)"
# The config may hold a password: others cannot enter its directory, the projectord group reads it there.
read -r mode uid < <(stat -c '%a %u' "$root/etc/projectord/projectord.toml")
[[ $mode == 644 && $uid == 0 ]] || fail "/etc/projectord/projectord.toml is $mode owned by $uid, expected 644 root"

# The installed binary runs.
binary=$root/usr/bin/projectord
out=$("$binary" --version) || fail "projectord --version failed"
[[ $out == *"${version%%-*}"* ]] || fail "projectord --version prints '$out', not the package's version $version"
out=$("$binary" --help) || fail "projectord --help failed"
[[ $out == *"check-config"* ]] || fail "projectord --help lacks its commands"
# The sample names /etc/projectord/database_url, which the package leaves to the operator.
if out=$("$binary" --config "$root/etc/projectord/projectord.toml" check-config 2>&1); then
  fail "the unedited sample config passes check-config though the package ships no database URL file"
fi
[[ $out == *database_url* ]] || fail "check-config on the unedited sample does not name the missing database_url: $out"
echo "ok: $(basename "$deb") and $(basename "$dev_deb"): lintian clean, $installed installed files in place"
