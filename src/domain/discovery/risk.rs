//! Risk signals: a transparent first guess at what an agent touches, from the names of
//! the tools it called (the reference's keyword lists, unchanged).

/// A risk an agent's tools or identity suggest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RiskSignal {
    Outbound,
    Payment,
    ProductionData,
    RegulatedData,
    UnknownIdentity,
}

impl RiskSignal {
    /// Every signal, in order.
    pub const ALL: [Self; 5] = [
        Self::Outbound,
        Self::Payment,
        Self::ProductionData,
        Self::RegulatedData,
        Self::UnknownIdentity,
    ];

    /// The wire name. Variants are declared in the order of their names, so sorting
    /// signals sorts their names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Outbound => "outbound",
            Self::Payment => "payment",
            Self::ProductionData => "production-data",
            Self::RegulatedData => "regulated-data",
            Self::UnknownIdentity => "unknown-identity",
        }
    }
}

/// Keywords that raise each tool-derived signal, matched as substrings.
const KEYWORDS: [(RiskSignal, &[&str]); 4] = [
    (
        RiskSignal::Payment,
        &[
            "payment", "billing", "invoice", "refund", "charge", "stripe", "paypal",
        ],
    ),
    (
        RiskSignal::ProductionData,
        &["prod", "production", "prod-db", "prod_db"],
    ),
    (
        RiskSignal::Outbound,
        &[
            "email", "mail", "smtp", "sms", "slack", "teams", "webhook", "outbound", "send",
        ],
    ),
    (
        RiskSignal::RegulatedData,
        &[
            "pii",
            "personal",
            "health",
            "medical",
            "hr",
            "payroll",
            "ssn",
            "gdpr",
            "financial",
        ],
    ),
];

/// The sorted, distinct signals of an agent: keywords found in its tool names joined by
/// spaces (case-insensitive), and
/// `unknown-identity` when the id is blank or says it is unknown.
pub fn risk_signals(agent_id: &str, tools: &[String]) -> Vec<RiskSignal> {
    let haystack = go_lower(&tools.join(" "));
    let mut signals: Vec<RiskSignal> = KEYWORDS
        .iter()
        .filter(|(_, words)| words.iter().any(|w| haystack.contains(w)))
        .map(|(signal, _)| *signal)
        .collect();
    let id = go_lower(agent_id.trim());
    if id.is_empty() || id.contains("unknown") || id.contains("unidentified") {
        signals.push(RiskSignal::UnknownIdentity);
    }
    signals.sort_unstable();
    signals
}

/// Lower case one character at a time, as Go's `strings.ToLower` does: `İ` becomes a
/// plain `i` (Rust's `to_lowercase` would add a combining dot and miss "İnvoice").
fn go_lower(s: &str) -> String {
    s.chars()
        .map(|c| c.to_lowercase().next().unwrap_or(c))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(agent: &str, tools: &[&str]) -> Vec<&'static str> {
        let tools: Vec<String> = tools.iter().map(|t| (*t).to_owned()).collect();
        risk_signals(agent, &tools)
            .into_iter()
            .map(RiskSignal::as_str)
            .collect()
    }

    #[test]
    fn each_keyword_list_raises_its_signal() {
        assert_eq!(names("a", &["Stripe_Charge"]), ["payment"]);
        assert_eq!(names("a", &["query_PROD_db"]), ["production-data"]);
        assert_eq!(names("a", &["notify_teams"]), ["outbound"]);
        assert_eq!(names("a", &["lookup_ssn"]), ["regulated-data"]);
        assert_eq!(names("a", &["read_file", "list_dir"]), Vec::<&str>::new());
    }

    #[test]
    fn signals_are_sorted_and_distinct() {
        assert_eq!(
            names("", &["send_invoice", "send_email", "hr_lookup"]),
            ["outbound", "payment", "regulated-data", "unknown-identity"]
        );
    }

    #[test]
    fn names_are_joined_with_a_space_so_a_keyword_never_spans_two() {
        assert_eq!(names("a", &["read_h", "r_tool"]), Vec::<&str>::new());
        assert_eq!(names("a", &["read_h", "hr_tool"]), ["regulated-data"]);
    }

    #[test]
    fn identity_signals_follow_the_id() {
        assert_eq!(names("   ", &[]), ["unknown-identity"]);
        assert_eq!(names("Unknown-Bot", &[]), ["unknown-identity"]);
        assert_eq!(names("UNIDENTIFIED", &[]), ["unknown-identity"]);
        assert_eq!(
            names("billing-agent", &[]),
            Vec::<&str>::new(),
            "ids are not tools"
        );
    }

    #[test]
    fn variant_order_is_name_order() {
        let by_name: Vec<&str> = RiskSignal::ALL.iter().map(|s| s.as_str()).collect();
        let mut sorted = by_name.clone();
        sorted.sort_unstable();
        assert_eq!(by_name, sorted);
        assert!(RiskSignal::ALL.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn lowering_matches_go_for_dotted_capital_i() {
        assert_eq!(names("a", &["İNVOICE"]), ["payment"]);
    }
}
