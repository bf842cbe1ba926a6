"""Tables -> specs -> seqio Tasks and Mixtures for every family (T0, eval benchmarks, xP3, mC4, custom
files), and the one naming module. Imports `pipeline` and below."""
