# Interop harness policy: allow exactly the harness's tools, so the only thing that can
# deny a call is the capability token (send_email is left out of the minted token and
# must come back as JSON-RPC -32010). The gateway's embedded default policy allows only
# read_* and a few named write tools: slow_count would be denied by it ("no policy rule
# matched (default deny)", -32011 or similar), which is not what this harness tests.
package intentgate.policy

import rego.v1

default decision := {"allow": false, "reason": "interop policy: tool not listed"}

interop_tools := {"read_invoice", "slow_count", "send_email"}

decision := {"allow": true, "reason": "interop policy: listed tool"} if input.tool in interop_tools
