"""What the commands in tools/ share: an argument parser made from the script's
docstring (its first paragraph is the description, the rest the epilog, kept as
written)."""

import argparse

__all__ = ["doc_parser"]


def doc_parser(prog, doc):
    """argparse.ArgumentParser for `prog` whose --help shows doc as written."""
    paragraphs = doc.split("\n\n")
    return argparse.ArgumentParser(
        prog=prog,
        description=paragraphs[0],
        epilog="\n\n".join(paragraphs[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
