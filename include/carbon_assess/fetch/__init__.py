"""Statistical releases fetched from their publisher, each fetch kept as a snapshot.

- `nbs`: the NBS data portal (`easyquery.htm`, provincial annual data `fsnd`): indicators found
  by name in the portal's tree, written to the landing folder in the NBS long layout that ingest
  reads (`carbon-assess fetch`, DAG `nbs_fetch`);
- `portal`: the HTTP client (standard library only): a polite rate limit, retries with backoff
  on timeouts and 5xx, one-line errors for anything that is not the expected JSON;
- `snapshots`: `$CARBON_ASSESS_HOME/snapshots/<id>/`, the raw responses of every fetch with
  their request parameters, time, URL and SHA-256; a snapshot's id is the vintage of the
  landing content it produced.

This package module imports nothing (the UI plugin reads `snapshots` without loading ingest).
"""
