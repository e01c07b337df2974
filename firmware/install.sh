#!/bin/sh
# Installs an LSMS Edge release on a board (first install, or by hand):
#
#   PREFIX/opt/lsms/releases/VERSION/    the release (binary, model, profile, lsms.env)
#   PREFIX/opt/lsms/current -> releases/VERSION   switched atomically
#   PREFIX/etc/systemd/system/lsms.service
#   PREFIX/etc/lsms/update.pub            with --pub: the key `lsms update apply` trusts
#   PREFIX/etc/lsms/site.env              site settings (expression, PACS...): a
#                                         template when missing, never overwritten
#   PREFIX/var/lib/lsms                   state directory
#
# creates the lsms system user (in the gpio/video/render groups the board
# has), then enables and restarts the service. Later releases arrive as
# signed bundles through `lsms update apply`; this script keeps the same
# layout: the new release and the previous one stay, older ones go.
#
# RELEASE_DIR is a release as `lsms update stage` writes it (lsms, VERSION,
# profile.json, lsms.env, the model bundle). Idempotent: installing the
# version that is current again changes nothing; a different release under
# an installed version is refused.
#
# usage: install.sh [--prefix DIR] [--no-systemd] [--no-user] [--pub FILE] [--unit FILE] RELEASE_DIR
#   --prefix DIR   install under DIR instead of / (tests, image builds)
#   --no-systemd   do not run systemctl
#   --no-user      do not create the lsms user or chown to it
set -eu

die() { echo "install.sh: $*" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
prefix=""
systemd=1
mkuser=1
pub=""
unit="$here/systemd/lsms.service"
while [ $# -gt 0 ]; do
  case $1 in
    --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
    --prefix=*) prefix=${1#--prefix=}; shift ;;
    --pub) [ $# -ge 2 ] || die "--pub needs a file"; pub=$2; shift 2 ;;
    --unit) [ $# -ge 2 ] || die "--unit needs a file"; unit=$2; shift 2 ;;
    --no-systemd) systemd=0; shift ;;
    --no-user) mkuser=0; shift ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) break ;;
  esac
done
[ $# -eq 1 ] || die "give one release directory (see --help)"
rel=$1
if [ -n "$prefix" ]; then
  mkdir -p "$prefix" || die "cannot create prefix $prefix"
  prefix=$(cd "$prefix" && pwd)
fi

# --- the release ----------------------------------------------------------
[ -d "$rel" ] || die "$rel is not a directory"
for f in lsms VERSION profile.json lsms.env; do
  [ -f "$rel/$f" ] || die "$rel has no $f (stage releases with: lsms update stage)"
done
[ -x "$rel/lsms" ] || die "$rel/lsms is not executable"
[ -f "$unit" ] || die "no unit file $unit"
[ -z "$pub" ] || [ -f "$pub" ] || die "no public key $pub"
version=$(head -n 1 "$rel/VERSION")
case $version in
  ''|.*|-*|*[!A-Za-z0-9._+-]*) die "VERSION \"$version\": want 1-128 of A-Z a-z 0-9 . _ + -" ;;
esac
[ ${#version} -le 128 ] || die "VERSION is longer than 128 characters"
bad=$(find "$rel" ! -type f ! -type d | head -n 1)
[ -z "$bad" ] || die "$bad is not a regular file; a release holds regular files only"

root="$prefix/opt/lsms"
releases="$root/releases"
dest="$releases/$version"
mkdir -p "$releases"

if [ -e "$dest" ]; then
  diff -r "$rel" "$dest" >/dev/null 2>&1 \
    || die "$dest exists with other contents; give the new release a new version"
  echo "install.sh: release $version already in $dest"
else
  tmp=$(mktemp -d "$releases/.incoming-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  cp -R "$rel/." "$tmp/"
  chmod -R u=rwX,go=rX "$tmp"
  chmod 0755 "$tmp" "$tmp/lsms"
  sync
  mv "$tmp" "$dest"
  trap - EXIT
  echo "install.sh: installed $version in $dest"
fi

# --- switch current atomically (a new link renamed over the old) ---------
prev=""
if [ -L "$root/current" ]; then
  prev=$(readlink "$root/current")
  prev=${prev#releases/}
elif [ -e "$root/current" ]; then
  die "$root/current is not a symbolic link; not touching it"
fi
switched=0
if [ "$prev" != "$version" ]; then
  switched=1
  rm -f "$root/.current.new"
  ln -s "releases/$version" "$root/.current.new"
  mv -T "$root/.current.new" "$root/current"
  sync
  echo "install.sh: current -> releases/$version${prev:+ (was $prev)}"
  # Keep the new release and the previous one.
  for d in "$releases"/*; do
    [ -d "$d" ] || continue
    n=${d##*/}
    [ "$n" = "$version" ] || [ "$n" = "$prev" ] && continue
    rm -rf "$d"
    echo "install.sh: removed old release $n"
  done
fi

# --- key, state, unit, user ------------------------------------------------
if [ -n "$pub" ]; then
  mkdir -p "$prefix/etc/lsms"
  cmp -s "$pub" "$prefix/etc/lsms/update.pub" 2>/dev/null || {
    cp "$pub" "$prefix/etc/lsms/.update.pub.new"
    chmod 0644 "$prefix/etc/lsms/.update.pub.new"
    mv "$prefix/etc/lsms/.update.pub.new" "$prefix/etc/lsms/update.pub"
    echo "install.sh: installed the update key in $prefix/etc/lsms/update.pub"
  }
fi
mkdir -p "$prefix/etc/lsms"
if [ ! -e "$prefix/etc/lsms/site.env" ]; then
  cat > "$prefix/etc/lsms/.site.env.new" <<'SITE'
# Site settings of lsms.service, kept across updates and reinstalls.
# The service needs an expression for every series: set LSMS_EXPR, or give
# --expr-map in LSMS_SITE_ARGS, then: systemctl restart lsms
#
# LSMS_EXPR: the referring expression of every series (one argument).
LSMS_EXPR=
# LSMS_SITE_ARGS: more `lsms scp` flags, split on spaces, such as
#   --expr-map /etc/lsms/expr-map.txt --forward PACS@10.0.0.5:104 --allow CT01
LSMS_SITE_ARGS=
SITE
  chmod 0644 "$prefix/etc/lsms/.site.env.new"
  mv "$prefix/etc/lsms/.site.env.new" "$prefix/etc/lsms/site.env"
  echo "install.sh: wrote $prefix/etc/lsms/site.env: set LSMS_EXPR (or --expr-map) there before the service can run"
fi
mkdir -p "$prefix/var/lib/lsms"
chmod 0750 "$prefix/var/lib/lsms"
unit_changed=0
mkdir -p "$prefix/etc/systemd/system"
if ! cmp -s "$unit" "$prefix/etc/systemd/system/lsms.service" 2>/dev/null; then
  cp "$unit" "$prefix/etc/systemd/system/.lsms.service.new"
  chmod 0644 "$prefix/etc/systemd/system/.lsms.service.new"
  mv "$prefix/etc/systemd/system/.lsms.service.new" "$prefix/etc/systemd/system/lsms.service"
  unit_changed=1
  echo "install.sh: installed $prefix/etc/systemd/system/lsms.service"
fi

if [ $mkuser = 1 ]; then
  if ! getent passwd lsms >/dev/null; then
    useradd --system --user-group --home-dir /var/lib/lsms --no-create-home --shell /usr/sbin/nologin lsms \
      || die "useradd lsms failed (run as root, or pass --no-user)"
    echo "install.sh: created user lsms"
  fi
  for g in gpio video render; do
    if getent group "$g" >/dev/null && ! id -nG lsms | tr ' ' '\n' | grep -qx "$g"; then
      usermod -a -G "$g" lsms && echo "install.sh: added lsms to group $g"
    fi
  done
  chown lsms:lsms "$prefix/var/lib/lsms"
fi

if [ $systemd = 1 ]; then
  [ $unit_changed = 0 ] || systemctl daemon-reload
  systemctl enable lsms.service
  if [ $switched = 1 ] || [ $unit_changed = 1 ]; then
    systemctl restart lsms.service
    echo "install.sh: lsms.service restarted"
  else
    systemctl start lsms.service
  fi
fi
echo "install.sh: done: $root/current -> releases/$version"
