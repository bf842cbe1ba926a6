"""Files, buckets and the Hugging Face Hub: locating a split for every data family, reading it per host
shard and order, downloading it. Imports only `catalog`, `settings` and `errors`."""
