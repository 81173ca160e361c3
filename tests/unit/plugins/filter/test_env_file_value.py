# -*- coding: utf-8 -*-
# Copyright: registryops.harbor_ha contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Unit tests of the env_file_value filter (the lab proves the same values through a real Compose v2)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type  # pylint: disable=invalid-name

import pytest

from ansible_collections.registryops.harbor_ha.plugins.filter.env_file_value import FilterModule, env_file_value


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters()['env_file_value'] is env_file_value


@pytest.mark.parametrize('value, expected', [
    ('plain', '"plain"'),
    ('', '""'),
    ("a #b $HOME ${X} 'c' \"d\" \\e", '"a #b \\$HOME \\${X} \'c\' \\"d\\" \\\\e"'),
    ('two\nlines', '"two\\nlines"'),
    (1234, '"1234"'),
])
def test_values_are_double_quoted_with_escapes(value, expected):
    assert env_file_value(value) == expected


def unquote_like_compose(line_value):
    """Compose v2's reading of a double-quoted env_file value (compose-go dotenv: \\n, \\\\, \\", \\$)."""
    assert line_value[0] == '"' and line_value[-1] == '"'
    out, chars = [], iter(line_value[1:-1])
    for char in chars:
        if char == '\\':
            nxt = next(chars)
            out.append({'n': '\n', '\\': '\\', '"': '"', '$': '$'}[nxt])
        else:
            assert char not in '"$', 'an unescaped %s would end the value or be interpolated' % char
            out.append(char)
    return ''.join(out)


@pytest.mark.parametrize('value', ["Lab Admin #1 $x@:/,%'\"", 'x\\y"z$$', ' leading and trailing '])
def test_the_written_value_reads_back_unchanged(value):
    assert unquote_like_compose(env_file_value(value)) == value
