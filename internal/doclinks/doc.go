// Package doclinks holds the test that keeps the project's documentation
// links working: every relative link to a Markdown page and every docs/*.md
// reference in a source comment names a page that exists and, with a
// #fragment, a heading of that page (GitHub's anchor of it).
package doclinks
