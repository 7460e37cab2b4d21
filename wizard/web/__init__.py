"""The web: the app-wide hooks, error pages, htmx, forms plumbing, rate limits,
signing, and one blueprint per area. It calls the domain and reads the store;
nothing below it imports it."""
