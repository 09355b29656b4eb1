"""No tables: the console reads and changes the other apps through their selectors and services. The module
exists so that migrate (and a test database flush) sends this app post_migrate, which sets the role groups."""
