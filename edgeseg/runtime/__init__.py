"""edgeseg.runtime"""
