# Sourced by the choose-*.sh scripts, after they set `out` (a folder) and `common` (the flags
# every run shares): builds `der` once, and `run NAME FLAGS…` runs
# `der bench "${common[@]}" FLAGS…` into $out/NAME.json. A run whose report exists is not
# repeated (delete $out to start again), so an interrupted choice resumes where it stopped.
cargo build --release --bin der
mkdir -p "$out"
# A private copy: rebuilding the crate while this runs must not swap the binary under it.
cp target/release/der "$out/der"
run() {
  local name=$1; shift
  [ -s "$out/$name.json" ] && { echo "$name: kept from an earlier run"; return; }
  "$out/der" bench "${common[@]}" "$@" --json "$out/$name.json.part" | tail -1
  mv "$out/$name.json.part" "$out/$name.json"
}
