"""The syscall layer: processes, threads and mms without interleaving (:mod:`.sequential`, :class:`.system.System`),
the live-kernel adapter that answers the same questions on the real syscall (:mod:`.kernel`), the conformance
comparison of the two, and the live probe of IPIs (:mod:`.probe`, :mod:`.probe_live`)."""
