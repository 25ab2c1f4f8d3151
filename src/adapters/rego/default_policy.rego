# IntentGate default policy: the reference gateway's decisions, written anew.
# Entry point: data.intentgate.policy.decision -> {allow, reason, escalate?, requires_step_up?}
package intentgate.policy

import rego.v1

default decision := {"allow": false, "reason": "no policy rule matched (default deny)"}

routine_write_tools := {"record_in_ledger", "verify_vendor", "fetch_company_data", "web_search"}

destructive_tools := {"delete", "drop_table", "factory_reset", "purge_audit"}

transfer_limit_eur := 10000

decision := {"allow": true, "reason": "read-only tool"} if startswith(input.tool, "read_")

decision := {"allow": true, "reason": "routine write tool"} if input.tool in routine_write_tools

decision := {"allow": true, "reason": "transfer at or below 10000 EUR threshold"} if {
	input.tool == "transfer_funds"
	to_number(input.args.amount_eur) <= transfer_limit_eur
}

decision := {"allow": false, "reason": "transfer above 10000 EUR threshold"} if {
	input.tool == "transfer_funds"
	to_number(input.args.amount_eur) > transfer_limit_eur
}

decision := {"allow": false, "reason": "destructive tool blocked by policy"} if input.tool in destructive_tools
