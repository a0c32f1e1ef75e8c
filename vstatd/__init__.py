"""The vstatd statistics collector (RRD files per VPS)."""
