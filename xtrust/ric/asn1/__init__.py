"""ASN.1 codecs: E2AP, E2SM-KPM and E2SM-RC (our own modules, aligned PER)."""
