"""Resources of `flowcontrol.apiserver.k8s.io`: API Priority and Fairness configuration."""
