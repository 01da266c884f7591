"""edgeseg.engine"""
