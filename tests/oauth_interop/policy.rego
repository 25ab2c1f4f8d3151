# Startup policy of the gateway that tests/oauth_interop/run.sh starts: OAuth callers
# whose client is agent-1 may use every tool their scopes open; anyone else is refused.
# It reads the verified claims the gateway hands the policy (input.oauth).
package intentgate.policy

import rego.v1

default decision := {"allow": false, "reason": "only agent-1 may call tools here"}

decision := {"allow": true, "reason": "agent-1 via its authorization server"} if {
	input.oauth.client_id == "agent-1"
	startswith(input.oauth.issuer, "http://127.0.0.1:")
}
