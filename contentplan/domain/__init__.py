"""What the words mean: journey schemes and the one stage decision, content formats, personas, search
intent. Pure data and rules; no model, no report."""

DEFAULT_SCHEME = "buyer-journey"   # the scheme every command and function uses unless told otherwise
