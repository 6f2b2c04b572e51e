// Package e2e holds end-to-end tests and benchmarks of the asyncify binary on real clients
// written by others (DESIGN.md §6), fetched through the module proxy at test time into temporary
// modules outside the repository. It has no code of its own besides this file.
package e2e
