# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of config_lines' edit logic: lineinfile's semantics, many edits in one pass."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

from ansible_collections.registryops.harbor_ha.plugins.modules.config_lines import apply_edits

ENV = 'CORE_SECRET=random1\nCSRF_KEY=random2\nPOSTGRESQL_PASSWORD=pw\n'


def test_a_matching_line_is_replaced_in_place():
    out = apply_edits(ENV, [{'regexp': '^CSRF_KEY=', 'line': 'CSRF_KEY=shared'}])
    assert out == 'CORE_SECRET=random1\nCSRF_KEY=shared\nPOSTGRESQL_PASSWORD=pw\n'


def test_only_the_last_match_is_replaced_like_lineinfile():
    out = apply_edits('A=1\nA=2\n', [{'regexp': '^A=', 'line': 'A=3'}])
    assert out == 'A=1\nA=3\n'


def test_a_missing_line_goes_to_the_end_or_after_its_anchor():
    assert apply_edits(ENV, [{'regexp': '^NEW=', 'line': 'NEW=x'}]).endswith('POSTGRESQL_PASSWORD=pw\nNEW=x\n')
    yml = 'http:\n  addr: :5000\nredis:\n  addr: r:6379\n'
    out = apply_edits(yml, [{'regexp': '^  secret: ', 'line': '  secret: s', 'insertafter': '^http:'},
                            {'regexp': '^  password:', 'line': '  password: "p"', 'insertafter': '^redis:'}])
    assert out == 'http:\n  secret: s\n  addr: :5000\nredis:\n  password: "p"\n  addr: r:6379\n'


def test_an_anchor_that_matches_nothing_appends():
    assert apply_edits('a\n', [{'regexp': '^b', 'line': 'b', 'insertafter': '^nothing'}]) == 'a\nb\n'


def test_absent_removes_every_matching_line():
    out = apply_edits('x\n  relativeurls: true\ny\n  relativeurls: true\n', [{'regexp': '^  relativeurls: ', 'state': 'absent'}])
    assert out == 'x\ny\n'


def test_edits_already_in_place_change_nothing():
    edits = [{'regexp': '^CORE_SECRET=', 'line': 'CORE_SECRET=random1'}, {'regexp': '^GONE=', 'state': 'absent'}]
    assert apply_edits(ENV, edits) == ENV


def test_a_file_without_final_newline_gets_one_only_when_written():
    assert apply_edits('A=1', [{'regexp': '^B=', 'line': 'B=2'}]) == 'A=1\nB=2\n'
    assert apply_edits('A=1', [{'regexp': '^A=', 'line': 'A=1'}]) == 'A=1'


def test_values_are_taken_literally_not_as_regex_replacements():
    line = r'PW="a\1$b\\c"'
    assert apply_edits('PW=old\n', [{'regexp': '^PW=', 'line': line}]) == line + '\n'
