"""The shared query layer against the upstream AnimeThemes server's own tests and request rules.

Each test names what it mirrors in AnimeThemes/animethemes-server: a feature test
(tests/Feature/Http/Api/...), a unit test (tests/Unit/Http/Api/...) or a request rule
(app/Concerns/Http/Requests/Api/..., app/Http/Requests/Api/..., app/Rules/Api/...).
"""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from extensions import db
from models.catalogue import Anime, Audio, Image, Video
from tests.factories import user_with_token


@pytest.fixture()
def library(app):
    """Three audio: "Alpha" with a 1080 BD NC video and a 720 WEB one, "Beta" without videos,
    "Gamma" soft-deleted; an anime with a cover."""
    with app.app_context():
        alpha = Audio(basename="Alpha", filename="Alpha.ogg", path="/a/Alpha.ogg", size=10, mimetype="audio/ogg")
        beta = Audio(basename="Beta", filename="Beta.ogg", path="/a/Beta.ogg", size=20, mimetype="audio/ogg")
        gamma = Audio(basename="Gamma", filename="Gamma.ogg", path="/a/Gamma.ogg", size=30, mimetype="audio/ogg", deleted_at=datetime.now(UTC))
        db.session.add_all([alpha, beta, gamma])
        db.session.flush()
        db.session.add_all(
            [
                Video(basename="Alpha-BD", filename="Alpha-BD.webm", path="/v", resolution=1080, source="BD", nc=True, audio_id=alpha.id),
                Video(basename="Alpha-WEB", filename="Alpha-WEB.webm", path="/v", resolution=720, source="WEB", nc=False, audio_id=alpha.id),
            ]
        )
        anime = Anime(name="Frostbound", slug="frostbound", year=2020, season="Winter")
        anime.images.append(Image(path="anime/frostbound.png", facet="Cover"))
        db.session.add(anime)
        db.session.commit()


def _basenames(response, key="audios"):
    assert response.status_code == 200, response.get_json()
    return [row["basename"] for row in response.get_json()[key]]


# --- parameter validation: 422 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "key"),
    [
        # ValidatesPaging::offset(): page is array:number,size.
        ("page[foo]=1", "page.foo"),
        ("page[size][x]=1", "page.size.x"),
        # AudioSchema::allowedIncludes() is "videos" only, nested paths included (ValidatesIncludes).
        ("include=videos.audio", "include"),
        ("include=anime", "include"),
        # DelimitedRule: "You may not specify duplicates", and every entry required.
        ("include=videos,videos", "include"),
        ("include=", "include"),
        ("include=videos,", "include"),
        # ReadRequest::getFieldRules(): fields is array:<the schema's type and its includes' types>.
        ("fields[anime]=name", "fields"),
        ("fields[nope]=name", "fields"),
        ("fields[audio]=basename,basename", "fields.audio"),
        # ValidatesSorts: random takes no direction; DistinctIgnoringDirectionRule; RandomSoleRule.
        ("sort=-random", "sort"),
        ("sort=basename,-basename", "sort"),
        ("sort=random,basename", "sort"),
        ("sort[anime]=name", "sort"),
        # IndexRequest::getFilterRules(): only the schema's filters, has, and its includes' types/filters.
        ("filter[nope]=1", "filter.nope"),
        ("filter[video][nope]=1", "filter.video.nope"),
        ("filter[anime][name]=x", "filter.anime.name"),
        ("filter[size-sometimes]=1", "filter.size-sometimes"),
        ("filter[has]=anime", "filter.has"),
    ],
)
def test_index_parameters_outside_the_rules_answer_422(client, library, query, key):
    response = client.get(f"/api/audio?{query}")
    assert response.status_code == 422, query
    assert key in response.get_json()["errors"], response.get_json()


@pytest.mark.parametrize(
    ("query", "key"),
    [
        # ShowRequest::getPagingRules() prohibits paging.
        ("page[size]=5", "page"),
        ("page[number]=1", "page"),
        # ShowRequest::getSortRules(): only sort[<include type>]; the resource itself is not sorted.
        ("sort=basename", "sort"),
        ("sort[audio]=basename", "sort"),
        # ShowRequest::getFilterRules(): only its includes' filters (path is audio's alone).
        ("filter[path]=/a/Alpha.ogg", "filter.path"),
        ("filter[has]=videos", "filter.has"),
    ],
)
def test_show_parameters_outside_the_rules_answer_422(client, library, query, key):
    response = client.get(f"/api/audio/Alpha?{query}")
    assert response.status_code == 422, query
    assert key in response.get_json()["errors"], response.get_json()


def test_show_takes_include_scoped_filters_and_sorts(client, library):
    """ShowRequest: filters and sorts of the included types narrow and order the includes
    (VideoShowTest / AudioShowTest 'allowed include paths' with criteria)."""
    body = client.get("/api/audio/Alpha?include=videos&sort[video]=-resolution").get_json()["audio"]
    assert [video["resolution"] for video in body["videos"]] == [1080, 720]
    body = client.get("/api/audio/Alpha?include=videos&sort[video]=resolution&filter[video][source]=web").get_json()["audio"]
    assert [video["basename"] for video in body["videos"]] == ["Alpha-WEB"]


def test_the_random_sort_alone_is_accepted(client, library):
    """RandomSoleRule passes when random is the sole value (tests/Unit/Rules/Api/RandomSoleTest)."""
    assert sorted(_basenames(client.get("/api/audio?sort=random"))) == ["Alpha", "Beta"]


# --- accepted values ---------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["bd", "Bd", "BD"])
def test_enum_filters_take_the_name_case_insensitively(client, library, value):
    """EnumFilter / EnumLocalizedNameRule (tests/Unit/Http/Api/Filter/EnumFilterTest)."""
    assert _basenames(client.get(f"/api/video?filter[source]={value}"), "videos") == ["Alpha-BD"]


@pytest.mark.parametrize(("value", "expected"), [(v, ["Alpha-BD"]) for v in ("1", "true", "on", "yes", "TRUE")] + [(v, ["Alpha-WEB"]) for v in ("0", "false", "off", "no")])
def test_boolean_filters_take_php_boolean_words(client, library, value, expected):
    """BooleanFilter / IsValidBoolean: FILTER_VALIDATE_BOOLEAN (tests/Unit/Rules/Api/IsValidBooleanTest)."""
    assert _basenames(client.get(f"/api/video?filter[nc]={value}"), "videos") == expected


def test_boolean_filters_refuse_other_words(client, library):
    assert client.get("/api/video?filter[nc]=maybe").status_code == 422


def test_date_filters_take_year_and_year_month(client, library):
    """DateFilter's AllowedDateFormat: Y-m-d\\TH:i:s.u down to Y-m and Y (DateFilterTest 'should apply if accepted format')."""
    year = datetime.now(UTC).year
    assert _basenames(client.get(f"/api/audio?filter[created_at-gte]={year}&sort=basename")) == ["Alpha", "Beta"]
    assert _basenames(client.get(f"/api/audio?filter[created_at-gte]={year + 1}")) == []
    assert _basenames(client.get(f"/api/audio?filter[created_at-lt]={year}-01")) == []
    assert _basenames(client.get(f"/api/audio?filter[created_at-gte]={year}-01-01T00&sort=basename")) == ["Alpha", "Beta"]
    # DateFilterTest 'should not apply if wrong format'.
    assert client.get(f"/api/audio?filter[created_at]={year}-1").status_code == 422


# --- filter features ---------------------------------------------------------------------------


def test_not_operator_is_not_in_for_lists(client, library):
    """WhereInCriteriaTest 'unary operator': filter[field-not]=a,b is NOT IN."""
    assert _basenames(client.get("/api/audio?filter[basename-not]=Alpha,Gamma")) == ["Beta"]
    assert _basenames(client.get("/api/audio?filter[basename-not]=Beta")) == ["Alpha"]


def test_or_logical_operator(client, library):
    """WhereCriteriaTest 'logical operator': filter[field-or] joins with OR."""
    response = client.get("/api/audio?filter[size]=10&filter[basename-or]=Beta&sort=basename")
    assert _basenames(response) == ["Alpha", "Beta"]


def test_has_filter(client, library):
    """HasCriteriaTest / HasFilterTest: filter[has]=<allowed include> keeps rows with related rows."""
    assert _basenames(client.get("/api/audio?filter[has]=videos")) == ["Alpha"]
    anime = client.get("/api/anime?filter[has]=images").get_json()["anime"]
    assert [row["name"] for row in anime] == ["Frostbound"]


def test_type_scoped_filters_narrow_only_included_resources(client, library):
    """FilterParserTest 'parse type scope': filter[video][resolution] applies to included videos
    and leaves the audio list alone (VideoIndexTest 'entries by nsfw' narrows an include)."""
    body = client.get("/api/audio?include=videos&filter[video][resolution]=1080&sort=basename").get_json()
    assert [audio["basename"] for audio in body["audios"]] == ["Alpha", "Beta"]
    assert [video["basename"] for video in body["audios"][0]["videos"]] == ["Alpha-BD"]
    assert body["audios"][1]["videos"] == []


def test_global_filters_narrow_every_schema_having_them(client, library):
    """FilterParserTest 'parse global scope': filter[resolution] is a video filter, so it narrows the
    included videos of an audio list; filter[trashed] applies to the includes too."""
    body = client.get("/api/audio?include=videos&filter[resolution]=720&sort=basename").get_json()
    assert [[v["basename"] for v in audio["videos"]] for audio in body["audios"]] == [["Alpha-WEB"], []]
    assert _basenames(client.get("/api/audio?filter[trashed]=only")) == ["Gamma"]


# --- soft delete -------------------------------------------------------------------------------


def test_soft_deleted_rows_are_shown_by_their_show_endpoint(client, library):
    """AudioShowTest 'soft delete'."""
    response = client.get("/api/audio/Gamma?fields[audio]=basename,deleted_at")
    assert response.status_code == 200 and response.get_json()["audio"]["deleted_at"] is not None


def test_restore_of_an_undeleted_row_succeeds(app, client, library):
    """AudioRestoreTest 'trashed': a restore of a row that is not deleted is 200."""
    _, admin = user_with_token(app, admin=True)
    response = client.patch("/restore/audio/Alpha", headers=admin)
    assert response.status_code == 200 and response.get_json()["audio"]["basename"] == "Alpha"


def test_force_delete_messages_name_the_resource_as_upstream(app, client, library):
    """ForceDeleteAction: "<Headline class name> '<getName()>' was deleted." (Image::getName is its path)."""
    _, admin = user_with_token(app, admin=True)
    with app.app_context():
        image_id = db.session.scalar(db.select(Image.id))
    assert client.delete(f"/forceDelete/image/{image_id}", headers=admin).get_json() == {"message": "Image 'anime/frostbound.png' was deleted."}
    assert client.delete("/forceDelete/anime/frostbound", headers=admin).get_json() == {"message": "Anime 'Frostbound' was deleted."}
    assert client.delete("/forceDelete/audio/Gamma", headers=admin).get_json() == {"message": "Audio 'Gamma' was deleted."}
