# Sourced by bench/compare*.sh: what --rounds K means, in one place. Every measurement runs K
# times, the rounds one after another, so a drift of the machine's speed reaches both sides
# alike; a table gives medians over rounds, and a ratio is taken within each round (that round's
# ssdd over its fastest reference) and then summarised as median and range (bench/rounds.py).

# Exits with a usage error unless $1 is a positive count; $2 names the script.
rounds_check() {
  [[ "$1" =~ ^[1-9][0-9]*$ ]] || { echo "$2: --rounds expects a positive count, got '$1'" >&2; exit 2; }
}

# The sentence a written table carries when it pooled more than one round ($1).
rounds_note() {
  [ "$1" -gt 1 ] || return 0
  echo "Every measurement ran $1 times, in rounds one after another; a figure is the median over rounds,"
  echo "a ratio the median of the rounds' ratios (each round's ssdd over its fastest reference) with their range."
}
