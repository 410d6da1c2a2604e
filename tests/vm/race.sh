#!/usr/bin/env bash
# vm-timeout: 3600
# `make race`: the long forms of the lifetime races and scale tests of
# tests/vm/race_lib.sh (issue 11); tests/vm/suite/lifecycle.sh runs short
# forms in `make check`. RACE_SECONDS (default 300) per race, RACE_PEERS
# (default 3000) churned, RACE_DELETE_PEERS (default 10000) deleted at once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/race_lib.sh"
s=${1:-${RACE_SECONDS:-300}}
check race_config_delete_move t_race_config_delete_move "$s"
check peer_churn_traffic t_peer_churn_traffic "$s" "${RACE_PEERS:-3000}"
check new_peer_window t_new_peer_window "${RACE_WINDOW_ROUNDS:-12}"
check key_change_window t_key_change_window "${RACE_WINDOW_ROUNDS:-12}"
check delete_many_peers t_delete_many_peers "${RACE_DELETE_PEERS:-10000}"
finish
