"""The portal: pages that read from several apps (job page, dashboard, applicant detail, the console's job pages)."""
