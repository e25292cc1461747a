"""The whole-warehouse build job and its weekday schedule."""
