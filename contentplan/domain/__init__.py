"""What the words mean: journey schemes and the one stage decision, content formats, personas, search
intent. Pure data and rules; no model, no report."""
