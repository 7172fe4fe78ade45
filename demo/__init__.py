"""Demo and sample data: the demo commands, the sample-job generator and the demo people, made only through the
apps' services; no app imports it but the portal, for the job page's fallback close-ups."""
