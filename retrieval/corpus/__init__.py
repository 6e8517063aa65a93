"""Where articles come from: files, web pages, feeds, their metadata, and wire copies among them."""
