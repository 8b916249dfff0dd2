#!/usr/bin/env python3
"""check_html.py PAGE.html: the page is well-formed and self-contained.

Well-formed: every element that is not void is closed, in order, and nothing is closed that was not open.
Self-contained: every <img> is a data: URI, no element loads anything (no script, link, iframe, object, embed,
no src/href to another file or host, no CSS url() that is not a data: URI). Prints one line per problem and
exits 1, else prints a summary and exits 0.
"""
import re
import sys
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
FORBIDDEN = {"script", "link", "iframe", "object", "embed", "frame", "base"}
# SVG children written as self-closing tags (<rect .../>) are complete elements.
URL_ATTRIBUTES = {"src", "href", "xlink:href", "poster", "data", "action", "srcset"}


class Checker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.problems, self.images, self.elements = [], [], 0, 0

    def where(self):
        line, column = self.getpos()
        return f"line {line} column {column}"

    def check_attributes(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name in URL_ATTRIBUTES and not value.startswith("data:") and not value.startswith("#"):
                self.problems.append(f"{self.where()}: <{tag} {name}=\"{value[:60]}\"> refers outside the page")
            if name == "style" and re.search(r"url\((?!\s*['\"]?data:)", value):
                self.problems.append(f"{self.where()}: <{tag}> style loads a url()")
        if tag == "img":
            self.images += 1
            src = dict(attrs).get("src") or ""
            if not src.startswith("data:image/"):
                self.problems.append(f"{self.where()}: <img> without an inline data:image/ source")

    def handle_starttag(self, tag, attrs):
        self.elements += 1
        if tag in FORBIDDEN:
            self.problems.append(f"{self.where()}: <{tag}> is not allowed in a self-contained page")
        self.check_attributes(tag, attrs)
        if tag not in VOID:
            self.stack.append((tag, self.where()))

    def handle_startendtag(self, tag, attrs):
        self.elements += 1
        if tag in FORBIDDEN:
            self.problems.append(f"{self.where()}: <{tag}> is not allowed in a self-contained page")
        self.check_attributes(tag, attrs)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack:
            self.problems.append(f"{self.where()}: </{tag}> closes nothing")
        elif self.stack[-1][0] != tag:
            open_tag, opened = self.stack[-1]
            self.problems.append(f"{self.where()}: </{tag}> while <{open_tag}> (opened {opened}) is open")
        else:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack and self.stack[-1][0] == "style" and re.search(r"url\((?!\s*['\"]?data:)", data):
            self.problems.append(f"{self.where()}: the style sheet loads a url()")


def main():
    path = sys.argv[1]
    with open(path, encoding="utf-8") as f:
        text = f.read()
    if not text.lstrip().lower().startswith("<!doctype html>"):
        print(f"{path}: does not start with <!DOCTYPE html>")
        return 1
    checker = Checker()
    checker.feed(text)
    checker.close()
    problems = checker.problems + [f"<{tag}> opened {where} is never closed" for tag, where in checker.stack]
    for problem in problems:
        print(f"{path}: {problem}")
    if problems:
        return 1
    print(f"{path}: well-formed and self-contained: {checker.elements} elements, {checker.images} inline images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
