# Startup policy of the gateway that tests/openapi_clients/run.sh starts
# (INTENTGATE_POLICY_FILE). Reads are allowed, `wire_money` escalates to a human so the
# scenarios can create a pending approval through POST /v1/mcp, everything else is denied.
# The seeded draft and the scenarios' drafts reuse these rules, so whatever a fuzzer or a
# scenario promotes, the data-plane calls later stages make keep the same outcome.
package intentgate.policy

import rego.v1

default decision := {"allow": false, "reason": "no policy rule matched (default deny)"}

decision := {"allow": true, "reason": "read-only tool"} if startswith(input.tool, "read_")

decision := {"allow": false, "escalate": true, "reason": "wire transfers need a human"} if input.tool == "wire_money"
