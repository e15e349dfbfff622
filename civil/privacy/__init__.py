"""Authors' data: erasure, retention, do_not_store, a site's export."""
