pytest_plugins = ["dropline_testsupport.pytest_plugin"]
