"""News headlines: bundled files and RSS/Atom feeds -> raw news tables (tagged, scored), polled by
a sensor when feeds are configured."""
