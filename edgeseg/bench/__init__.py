"""Speed and accuracy measurement, device profiles, reports and plots."""
