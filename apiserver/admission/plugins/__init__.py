"""Admission plugins, one module each; registered by name in `apiserver.admission.chain.ADMISSION_PLUGINS`."""
