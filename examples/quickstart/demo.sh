#!/usr/bin/env bash
# make demo: trueup follows a local git repository made from examples/quickstart, applies a pushed
# change, then finds and corrects drift, and holds a correction that would destroy something.
# Everything runs offline: Terraform and the hashicorp/local provider come from `make tools`.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
TF="$ROOT/.tools/bin/terraform"
export TF_CLI_CONFIG_FILE="$ROOT/.tools/terraformrc"
TRUEUP="$ROOT/bin/trueup"
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/trueup-demo.XXXXXX")
OUT="$DEMO/out"
LOG="$DEMO/trueup.log"
SLACK_LOG="$DEMO/slack.log"
export GIT_AUTHOR_NAME="Demo User" GIT_AUTHOR_EMAIL="demo@example.com"
export GIT_COMMITTER_NAME="Demo User" GIT_COMMITTER_EMAIL="demo@example.com"
git() { command git -c init.defaultBranch=main -c commit.gpgsign=false "$@"; }

bold() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
daemon_pid="" receiver_pid="" tail_pid=""
cleanup() {
  [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null || true
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null || true
  [ -n "$tail_pid" ] && kill "$tail_pid" 2>/dev/null || true
}
trap cleanup EXIT

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: runs COMMAND every half second until it succeeds.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      echo "demo: timed out after ${timeout}s waiting for: $what" >&2
      echo "demo: the daemon's log is in $LOG" >&2
      exit 1
    fi
    sleep 0.5
  done
}
log_has() { grep -q -- "$1" "$LOG"; }
count_in_log() { grep -c -- "$1" "$LOG" || true; }

bold "Creating a git repository from examples/quickstart in $DEMO"
git init -q --bare "$DEMO/infra.git"
git clone -q "$DEMO/infra.git" "$DEMO/work" 2>/dev/null
cp -R "$ROOT/examples/quickstart/stacks" "$ROOT/examples/quickstart/modules" "$DEMO/work/"
stacks=$(cd "$DEMO/work" && find stacks -name '*.tf' -exec dirname {} \; | sort -u)
for s in $stacks; do
  # Terraform loads terraform.tfvars by itself: point every stack's files into this demo's folder.
  printf 'out_dir = "%s"\n' "$OUT" >"$DEMO/work/$s/terraform.tfvars"
done
(cd "$DEMO/work" && git add -A && git commit -qm "Initial infrastructure" && git push -q origin main)
echo "stacks: $(echo $stacks)"

bold "Starting a stand-in for Slack (it prints what Slack would receive)"
(cd "$ROOT" && go build -o "$DEMO/slack-receiver" ./examples/quickstart/slack-receiver)
# Appending, so the demo can empty the file between steps.
"$DEMO/slack-receiver" -port-file "$DEMO/slack.port" >>"$SLACK_LOG" 2>&1 &
receiver_pid=$!
wait_for "the Slack stand-in to listen" 20 test -s "$DEMO/slack.port"
export SLACK_WEBHOOK_URL="http://127.0.0.1:$(cat "$DEMO/slack.port")/services/T000/B000/demo"

cat >"$DEMO/trueup.yaml" <<YAML
repo:
  url: $DEMO/infra.git
  branch: main
  poll_interval: 2s
data_dir: $DEMO/data
workers: 2
listen: 127.0.0.1:0
shutdown_grace: 30s
terraform:
  binary: $TF
  cli_config_file: $TF_CLI_CONFIG_FILE
drift:
  interval: 5s
  remediate: auto
  allow_destroy: false
slack:
  webhook_url_env: SLACK_WEBHOOK_URL
YAML
bold "Starting trueup (config: $DEMO/trueup.yaml)"
sed 's/^/    /' "$DEMO/trueup.yaml"
: >"$LOG"
"$TRUEUP" run --config "$DEMO/trueup.yaml" >>"$LOG" 2>&1 &
daemon_pid=$!
tail -n +1 -f "$LOG" | sed 's/^/  trueup | /' &
tail_pid=$!

nstacks=$(echo "$stacks" | wc -w)
wait_for "the first apply of every stack" 240 bash -c "[ \$(grep -c 'apply finished' '$LOG') -ge $nstacks ]"
sleep 0.5
bold "trueup applied every stack; the files it manages:"
(cd "$OUT" && find . -type f | sort | sed 's/^/    /')

bold "Pushing a change: a new greeting for stacks/web"
before=$(count_in_log 'apply finished')
web_main="$DEMO/work/stacks/web/main.tf"
sed -i 's/greeting *= *"[^"]*"/greeting = "Hello from a merged pull request"/' "$web_main"
(cd "$DEMO/work" && git commit -qam "web: new greeting" && git push -q origin main)
wait_for "trueup to apply the change" 120 bash -c "[ \$(grep -c 'apply finished' '$LOG') -gt $before ]"
sleep 0.5
echo "    files that now say so:"
grep -rl "Hello from a merged pull request" "$OUT" | sed "s|$OUT/|    |"

bold "Drift: deleting one managed file and editing another by hand"
mapfile -t files < <(find "$OUT" -type f | sort)
deleted=${files[0]} edited=${files[1]}
cp "$edited" "$DEMO/edited.orig"
rm "$deleted"
echo "tampered with by hand" >"$edited"
echo "    deleted: ${deleted#"$OUT"/}"
echo "    edited:  ${edited#"$OUT"/}"
wait_for "trueup to restore both files" 120 bash -c "test -f '$deleted' && cmp -s '$edited' '$DEMO/edited.orig'"
bold "trueup found the drift and restored both files. Slack received:"
wait_for "the resolved alert" 30 grep -q "resolved" "$SLACK_LOG"
sed 's/^/    /' "$SLACK_LOG"
: >"$SLACK_LOG"

bold "Working around the process: applying an extra resource by hand into stacks/network's state"
# trueup names a stack's state directory by the name made safe plus a hash of the exact name.
state="$DEMO/data/state/stacks_network-$(printf '%s' stacks/network | sha256sum | cut -c1-32)/terraform.tfstate"
test -f "$state" || { echo "demo: no state at $state" >&2; exit 1; }
mkdir -p "$DEMO/by-hand"
cp "$DEMO/work/stacks/network/"*.tf "$DEMO/work/stacks/network/terraform.tfvars" "$DEMO/by-hand/"
cat >"$DEMO/by-hand/extra.tf" <<HCL
resource "local_file" "by_hand" {
  filename = "$OUT/by-hand.txt"
  content  = "created outside git"
}
HCL
cat >"$DEMO/by-hand/backend_override.tf" <<HCL
terraform {
  backend "local" {
    path = "$state"
  }
}
HCL
(cd "$DEMO/by-hand" && "$TF" init -input=false -no-color >/dev/null && "$TF" apply -input=false -auto-approve -no-color | grep 'Apply complete' | sed 's/^/    terraform | /')
wait_for "trueup to hold the correction" 120 grep -q "held" "$SLACK_LOG"
bold "trueup would have to destroy local_file.by_hand to match git, so it held the correction. Slack received:"
sed 's/^/    /' "$SLACK_LOG"
test -f "$OUT/by-hand.txt" && echo "    $OUT/by-hand.txt is still there: nothing was destroyed."

bold "Stopping trueup (SIGTERM)"
kill -TERM "$daemon_pid"
status=0
wait "$daemon_pid" || status=$?
daemon_pid=""
sleep 0.3
echo "    trueup exited with status $status"
bold "Done. Everything the demo made is in $DEMO"
exit "$status"
