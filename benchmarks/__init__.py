"""fastact's asv suite; see asv.conf.json and the README's "Benchmarks"."""
